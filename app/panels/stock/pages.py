"""The stock panel's one hand-written block: the EUR→RUB rate input beside the analytics report's
filters (the report itself is a declaration, :mod:`app.panels.stock.reports`). Setting the rate is
an action, not a report: who may (``stock.analytics.rate``) types it here; everyone else sees it."""

from __future__ import annotations

import reflex as rx

from app.core.errors import PultError, ValidationFailed
from app.core.ui import ERROR_TOAST, AuthState, ReportState, tr, ui_session
from app.panels.stock import services


class RateState(AuthState):
    rate: str = ""
    rate_error: str = ""
    can_edit_rate: bool = False

    @rx.event
    def load(self):
        try:
            with ui_session() as db:
                self.can_edit_rate = self.current_user().has_perm("stock.analytics.rate")
                self.rate = format(services.eur_rub_rate(db).normalize(), "f")
        except PultError as exc:
            return self.fail(exc)
        self.rate_error = ""

    @rx.event
    def set_rate_text(self, v: str):
        self.rate, self.rate_error = v, ""

    @rx.event
    def save_rate(self):
        try:
            with ui_session() as db:
                services.set_eur_rub_rate(db, self.current_user(), self.rate)
        except ValidationFailed as exc:
            self.rate_error = exc.messages(self.lang).get("rate", exc.message(self.lang))
            return rx.toast.error(self.rate_error, id=ERROR_TOAST)
        except PultError as exc:
            return self.fail(exc)
        self.rate_error = ""
        return [*self.ok(self.t("analytics.rate_saved")), ReportState.refresh]


def rate_block() -> rx.Component:
    S = RateState
    return rx.vstack(
        rx.text(tr("analytics.rate"), size="1", color_scheme="gray"),
        rx.hstack(rx.input(value=S.rate, on_change=S.set_rate_text, width="7em", id="an-rate", disabled=~S.can_edit_rate),
                  rx.cond(S.can_edit_rate, rx.button(tr("save"), on_click=S.save_rate, variant="soft", id="an-rate-save")), spacing="1"),
        rx.cond(S.rate_error != "", rx.text(S.rate_error, color_scheme="red", size="1")),
        spacing="1", on_mount=S.load,
    )
