"""The notification bell: a live unread count and the latest notifications, with read/unread."""

from __future__ import annotations

import reflex as rx

from app.core import live, notify
from app.core.display import fmt_datetime
from app.core.errors import PultError
from app.core.ui.base import AuthState, tr, ui_session


class BellState(AuthState):
    unread: int = 0
    items: list[dict[str, str]] = []
    #: The newest job result not toasted yet; the marker component remounts when it changes.
    toast_id: str = ""
    toast_text: str = ""
    _seen: int = -1

    @rx.event
    def load(self):
        live.watch(self, {"notification"})
        self._reload()

    def live_refresh(self) -> None:
        self._reload()

    def _reload(self) -> None:
        try:
            with ui_session() as db:
                user = self.current_user()
                self.unread = notify.unread_count(db, user)
                latest = notify.latest(db, user, limit=15)
                newest = max((n.id for n in latest), default=0)
                if self._seen >= 0:
                    fresh = [n for n in latest if n.id > self._seen and n.kind.startswith("job.") and n.read_at is None]
                    if fresh:
                        self.toast_id, self.toast_text = str(fresh[0].id), fresh[0].title
                self._seen = max(self._seen, newest)
                self.items = [
                    {"id": str(n.id), "title": n.title, "body": n.body, "link": n.link or "", "when": fmt_datetime(n.created_at), "unread": "" if n.read_at else "1"}
                    for n in latest
                ]
        except PultError:
            self.unread, self.items = 0, []

    @rx.event
    def read_all(self):
        try:
            with ui_session() as db:
                notify.mark_read(db, self.current_user())
        except PultError as exc:
            return self.fail(exc)
        self._reload()

    @rx.event
    def open_item(self, item_id: str, link: str):
        try:
            with ui_session() as db:
                notify.mark_read(db, self.current_user(), [int(item_id)])
        except PultError as exc:
            return self.fail(exc)
        self._reload()
        if not link:
            return None
        return rx.redirect(link, is_external=True) if link.startswith("/api/") else rx.redirect(link)

    @rx.event
    def show_toast(self):
        return rx.toast.success(self.toast_text, duration=8000) if self.toast_text else None


def bell() -> rx.Component:
    return rx.fragment(_bell(), rx.cond(BellState.toast_id != "", rx.box(key=BellState.toast_id, on_mount=BellState.show_toast, display="none")))


def _bell() -> rx.Component:
    return rx.popover.root(
        rx.popover.trigger(
            rx.box(
                rx.icon_button(rx.icon("bell", size=18), variant="ghost", size="2", id="bell"),
                rx.cond(
                    BellState.unread > 0,
                    rx.badge(BellState.unread, color_scheme="red", variant="solid", radius="full", size="1", position="absolute", top="-6px", right="-8px", pointer_events="none", id="bell-count"),
                ),
                position="relative",
            )
        ),
        rx.popover.content(
            rx.vstack(
                rx.hstack(rx.heading(tr("notifications"), size="3"), rx.spacer(), rx.button(tr("mark_all_read"), size="1", variant="ghost", on_click=BellState.read_all), width="100%"),
                rx.cond(BellState.items.length() == 0, rx.text(tr("no_notifications"), size="2", color_scheme="gray")),
                rx.foreach(
                    BellState.items,
                    lambda n: rx.box(
                        rx.hstack(
                            rx.cond(n["unread"] == "1", rx.box(width="8px", height="8px", border_radius="50%", background=rx.color("red", 9), flex_shrink="0", margin_top="0.4em"), rx.box(width="8px", flex_shrink="0")),
                            rx.vstack(rx.text(n["title"], size="2", weight=rx.cond(n["unread"] == "1", "bold", "regular")), rx.text(n["body"], size="1", color_scheme="gray"), rx.text(n["when"], size="1", color_scheme="gray"), spacing="0"),
                            align="start", spacing="2",
                        ),
                        on_click=BellState.open_item(n["id"], n["link"]), cursor="pointer", padding="0.4em", border_radius="6px", width="100%",
                        _hover={"background": rx.color("accent", 3)}, class_name="bell-item",
                    ),
                ),
                spacing="2", width="22em", max_height="26em", overflow_y="auto",
            ),
        ),
    )
