"""The incoming-call card: pops up on any page of a manager's open browser when a SoftPhone reports
an incoming call for them, with the number's project, provider, status and last calls, a link to
the number and buttons that set the call's result.

It is a ``Panel.overlays`` component, so the shell renders it on every page. Its state watches
``call_event`` (``app.core.live``); on each change it asks :func:`softphone.pending_calls` for
incoming calls addressed to this user (or to nobody in particular) on numbers in their scope, that
came after the tab opened and that it has not shown yet. One card at a time: calls arriving while
one is open wait behind it ("+N"), so a manager is never switched to another call under their
cursor. The result buttons call the numbers' ordinary "set status" action (permission, scope, audit).
"""

from __future__ import annotations

import reflex as rx

from app.core import live
from app.core.errors import NotAuthenticated, PultError
from app.core.ui import AuthState, tr, ui_session
from app.panels.numbers import softphone

#: Ids of cards shown, remembered per tab so a card never comes back (bounded).
SHOWN_LIMIT = 200


class SoftphoneCardState(AuthState):
    open: bool = False
    card: dict[str, str] = {}
    calls: list[dict[str, str]] = []
    results: list[dict[str, str]] = []
    can_set: bool = False
    queued: int = 0
    #: True once this tab listens for calls (tests wait for it before ringing).
    watching: bool = False
    _floor: int = -1
    _shown: list[int] = []
    _event_id: int = 0
    _number_id: int = 0

    @rx.event
    def load(self):
        """On every page (the card's ``on_mount``): watch call events if the user works with numbers."""
        try:
            with ui_session() as db:
                user = self.current_user()
                if not softphone.sees_calls(user):
                    live.unwatch(self)
                    self._close()
                    self.watching = False
                    return None
                if self._floor < 0:
                    self._floor = softphone.popup_floor(db)
        except PultError:
            return None
        live.watch(self, {"call_event"})
        self.watching = True
        self.live_refresh()
        return None

    def live_refresh(self) -> None:
        """Called by ``app.core.live`` on every ``call_event`` change: show or update the card."""
        try:
            with ui_session() as db:
                user = self.current_user()
                pending = softphone.pending_calls(db, user, self._floor, self._shown)
                while True:
                    if not self._event_id and pending:
                        self._event_id = pending.pop(0)
                        self._shown = (self._shown + [self._event_id])[-SHOWN_LIMIT:]
                    if not self._event_id:
                        break
                    data = softphone.card(db, user, self._event_id, self.lang)
                    if data is not None:
                        self._fill(data)
                        break
                    self._event_id = 0  # no longer visible to this user: on to the next one
                self.queued = len(pending)
                if not self._event_id:
                    self._close()
        except NotAuthenticated:
            self._close()
        except PultError:
            pass

    def _fill(self, data: dict) -> None:
        self._number_id = data["number_id"]
        self.card = {k: str(data[k]) for k in ("phone", "url", "project", "provider", "status", "status_color", "state", "operator", "when")}
        self.calls, self.results, self.can_set = data["calls"], data["results"], data["can_set"]
        self.open = True

    def _close(self) -> None:
        self.open, self.card, self.calls, self.results, self.can_set = False, {}, [], [], False
        self._event_id = self._number_id = 0

    @rx.event
    def dismiss(self):
        self._close()
        self.live_refresh()  # the next waiting call, if any

    @rx.event
    def set_result(self, status_id: str):
        try:
            with ui_session() as db:
                message = softphone.set_result(db, self.current_user(), self._number_id, int(status_id), self.lang)
        except PultError as exc:
            return self.fail(exc)
        self._close()
        self.live_refresh()
        return self.ok(self.t(message or "numbers.status_set"))


def _state_badge(state: rx.Var) -> rx.Component:
    return rx.match(
        state,
        ("incoming", rx.badge(tr("numbers.softphone.state.incoming"), color_scheme="blue", variant="solid")),
        ("answered", rx.badge(tr("numbers.softphone.state.answered"), color_scheme="green", variant="solid")),
        ("missed", rx.badge(tr("numbers.softphone.state.missed"), color_scheme="red", variant="soft")),
        ("ended", rx.badge(tr("numbers.softphone.state.ended"), color_scheme="gray", variant="soft")),
        rx.badge(state, variant="soft"),
    )


def _fact(label: str, value: rx.Component) -> rx.Component:
    return rx.vstack(rx.text(tr(label), size="1", color_scheme="gray"), value, spacing="0", min_width="0")


def softphone_card() -> rx.Component:
    S = SoftphoneCardState
    card = rx.card(
        rx.vstack(
            rx.hstack(
                rx.icon("phone-incoming", size=18, color=rx.color("accent", 11)),
                rx.text(tr("numbers.softphone.incoming"), size="2", weight="bold"),
                _state_badge(S.card["state"]),
                rx.spacer(),
                rx.cond(S.queued > 0, rx.badge("+", S.queued.to_string(), color_scheme="amber", title=tr("numbers.softphone.queued"), id="softphone-queued")),
                rx.icon_button(rx.icon("x", size=14), variant="ghost", size="1", on_click=S.dismiss, id="softphone-dismiss", title=tr("numbers.softphone.close")),
                width="100%", align="center", spacing="2",
            ),
            rx.link(rx.heading(S.card["phone"], size="6", id="softphone-phone"), href=S.card["url"], underline="hover", color=rx.color("gray", 12)),
            rx.grid(
                _fact("numbers.project", rx.text(S.card["project"], size="2", weight="medium", id="softphone-project")),
                _fact("numbers.provider", rx.text(S.card["provider"], size="2", weight="medium", id="softphone-provider")),
                _fact("numbers.status", rx.badge(S.card["status"], color_scheme=S.card["status_color"].to(str), variant="soft", id="softphone-status", width="fit-content")),
                _fact("numbers.operator", rx.text(S.card["operator"], size="2")),
                columns="2", spacing="3", width="100%",
            ),
            rx.cond(
                S.calls.length() > 0,
                rx.vstack(
                    rx.text(tr("numbers.softphone.recent_calls"), size="1", weight="bold", color_scheme="gray"),
                    rx.foreach(S.calls, lambda c: rx.hstack(
                        rx.text(c["when"], size="1", color_scheme="gray", white_space="nowrap"),
                        rx.text(c["event"], size="1"),
                        rx.cond(c["status"] != "", rx.badge(c["status"], size="1", variant="soft")),
                        rx.spacer(),
                        rx.text(c["duration"], size="1", color_scheme="gray"),
                        spacing="2", width="100%", align="center", class_name="softphone-call",
                    )),
                    spacing="1", width="100%",
                ),
            ),
            rx.cond(
                S.can_set,
                rx.vstack(
                    rx.text(tr("numbers.softphone.result"), size="1", weight="bold", color_scheme="gray"),
                    rx.flex(
                        rx.foreach(S.results, lambda r: rx.button(r["name"], size="1", variant="soft", color_scheme=r["color"].to(str),
                                                                   on_click=S.set_result(r["id"]), class_name="softphone-result")),
                        wrap="wrap", gap="0.4em",
                    ),
                    spacing="1", width="100%",
                ),
            ),
            rx.link(rx.hstack(rx.text(tr("numbers.softphone.open_number"), size="2"), rx.icon("arrow-right", size=14), spacing="1", align="center"),
                    href=S.card["url"], id="softphone-open"),
            spacing="3", width="100%",
        ),
        width="25em", max_width="calc(100vw - 2em)", box_shadow="0 8px 30px rgba(0,0,0,0.18)",
    )
    return rx.fragment(
        rx.box(on_mount=S.load, display="none", id=rx.cond(S.watching, "softphone-watching", "softphone-idle")),
        rx.cond(S.open, rx.box(card, position="fixed", bottom="1.25em", right="1.25em", z_index="70", id="softphone-card")),
    )
