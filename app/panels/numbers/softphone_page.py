"""Номера → SoftPhone: the address SoftPhone posts call events to, the shared signing secret
(generated here, stored encrypted, shown once), the last accepted and refused requests, and a
sample signed request. Admins only (``numbers.softphone``)."""

from __future__ import annotations

import datetime as dt

import reflex as rx

from app.core.display import fmt_datetime
from app.core.errors import PultError
from app.core.ui import AuthState, tr, ui_session
from app.core.ui import forbidden_box
from app.core.ui import confirm_dialog, page_header
from app.panels.numbers import softphone
from integrations.softphone import EVENTS_PATH, SIGNATURE_HEADER, TIMESTAMP_HEADER


EXAMPLE = f"""BODY='{{"call_id":"c-1","event":"incoming","phone":"+79991234567","operator":"manager"}}'
TS=$(date +%s)
SIG=$(printf '%s.%s' "$TS" "$BODY" | openssl dgst -sha256 -hmac "$SECRET" | sed 's/^.* //')
curl -X POST "$URL" -H 'Content-Type: application/json' \\
  -H "{TIMESTAMP_HEADER}: $TS" -H "{SIGNATURE_HEADER}: sha256=$SIG" --data-binary "$BODY\""""


def _when(iso: str | None) -> str:
    try:
        return fmt_datetime(dt.datetime.fromisoformat(iso)) if iso else ""
    except ValueError:
        return ""


class SoftphoneSettingsState(AuthState):
    forbidden: bool = False
    secret_set: bool = False
    secret_note: str = ""
    #: The new secret, for the one showing after "generate"; emptied by "hide" and on every load.
    new_secret: str = ""
    endpoint: str = ""
    last_accepted: str = ""
    last_rejected: str = ""
    confirm: str = ""  # "", "rotate" or "revoke"

    @rx.event
    def load(self):
        self.new_secret, self.confirm = "", ""
        try:
            self._load()
        except PultError as exc:
            return self.fail(exc)
        return None

    def _load(self) -> None:
        with ui_session() as db:
            user = self.current_user()
            self.forbidden = not user.has_perm(softphone.PERM)
            if self.forbidden:
                return
            info = softphone.secret_info(db)
        self.secret_set = info.is_set
        self.secret_note = self.t("numbers.softphone.secret_set", when=fmt_datetime(info.updated_at), who=info.updated_by or "?") if info.is_set else ""
        if info.previous_until is not None:
            self.secret_note += " · " + self.t("numbers.softphone.previous_until", when=fmt_datetime(info.previous_until))
        self.endpoint = f"{self.router.url.origin}{EVENTS_PATH}"
        last = softphone.last_requests()
        ok, bad = last.get("accepted"), last.get("rejected")
        self.last_accepted = f"{_when(ok.get('at'))} · {ok.get('event', '')} · {ok.get('call_id', '')}" if ok else ""
        self.last_rejected = f"{_when(bad.get('at'))} · {bad.get('reason', '')} · {bad.get('ip', '')}" if bad else ""

    @rx.event
    def ask(self, what: str):
        if what == "rotate" and not self.secret_set:
            return SoftphoneSettingsState.generate
        self.confirm = what
        return None

    @rx.event
    def cancel(self):
        self.confirm = ""

    @rx.event
    def generate(self):
        self.confirm = ""
        try:
            with ui_session() as db:
                secret = softphone.generate_secret(db, self.current_user())
            self._load()
        except PultError as exc:
            return self.fail(exc)
        self.new_secret = secret  # shown this once: "hide", leaving or reloading the page forgets it
        return None

    @rx.event
    def revoke(self):
        self.confirm = ""
        try:
            with ui_session() as db:
                softphone.revoke_secret(db, self.current_user())
        except PultError as exc:
            return self.fail(exc)
        return [*self.ok(self.t("saved")), SoftphoneSettingsState.load]

    @rx.event
    def hide(self):
        self.new_secret = ""


def softphone_page() -> rx.Component:
    S = SoftphoneSettingsState
    secret_box = rx.cond(
        S.new_secret != "",
        rx.callout(
            rx.vstack(
                rx.text(tr("numbers.softphone.shown_once"), size="2", weight="medium"),
                rx.hstack(
                    rx.code(S.new_secret, id="softphone-new-secret", size="2", style={"word_break": "break-all"}),
                    rx.icon_button(rx.icon("copy", size=14), variant="soft", size="1", on_click=rx.set_clipboard(S.new_secret), title=tr("numbers.softphone.copy")),
                    align="center", spacing="2", width="100%",
                ),
                rx.button(tr("numbers.softphone.hide"), size="1", variant="soft", on_click=S.hide, id="softphone-hide"),
                spacing="2", width="100%", on_unmount=S.hide,  # leaving the page forgets it too
            ),
            color_scheme="amber", icon="key-round", width="100%",
        ),
    )
    body = rx.vstack(
        page_header(tr("numbers.softphone.title")),
        rx.card(
            rx.vstack(
                rx.text(tr("numbers.softphone.endpoint"), size="2", weight="medium"),
                rx.hstack(rx.badge("POST", variant="solid"), rx.code(S.endpoint, id="softphone-endpoint"), align="center", spacing="2"),
                rx.text(tr("numbers.softphone.endpoint_help"), size="1", color_scheme="gray"),
                rx.divider(),
                rx.text(tr("numbers.softphone.secret"), size="2", weight="medium"),
                rx.cond(
                    S.secret_set,
                    rx.hstack(rx.code("***", id="softphone-secret-mask"), rx.text(S.secret_note, size="1", color_scheme="gray"), align="center", spacing="2"),
                    rx.callout(tr("numbers.softphone.no_secret"), color_scheme="red", icon="triangle-alert", id="softphone-no-secret", width="100%"),
                ),
                secret_box,
                rx.hstack(
                    rx.button(rx.cond(S.secret_set, tr("numbers.softphone.rotate"), tr("numbers.softphone.generate")), on_click=S.ask("rotate"), id="softphone-generate"),
                    rx.cond(S.secret_set, rx.button(tr("numbers.softphone.revoke"), variant="soft", color_scheme="red", on_click=S.ask("revoke"), id="softphone-revoke")),
                    spacing="3",
                ),
                rx.divider(),
                rx.grid(
                    rx.text(tr("numbers.softphone.last_accepted"), size="2", color_scheme="gray"),
                    rx.text(rx.cond(S.last_accepted != "", S.last_accepted, "—"), size="2", id="softphone-last-accepted"),
                    rx.text(tr("numbers.softphone.last_rejected"), size="2", color_scheme="gray"),
                    rx.text(rx.cond(S.last_rejected != "", S.last_rejected, "—"), size="2", id="softphone-last-rejected"),
                    columns="2", spacing="2", width="100%",
                ),
                rx.divider(),
                rx.text(tr("numbers.softphone.example"), size="2", weight="medium"),
                rx.code_block(EXAMPLE, language="bash", width="100%", wrap_long_lines=True),
                rx.text(tr("numbers.softphone.docs"), size="1", color_scheme="gray"),
                spacing="3", width="100%",
            ),
            width="100%", max_width="860px",
        ),
        confirm_dialog(S.confirm == "rotate", tr("numbers.softphone.rotate_confirm"), S.generate, S.cancel),
        confirm_dialog(S.confirm == "revoke", tr("numbers.softphone.revoke_confirm"), S.revoke, S.cancel),
        spacing="4", width="100%",
    )
    return rx.cond(S.forbidden, forbidden_box(), body)
