"""Custom pages of the numbers panel (seed 004, 2.3): number import/export
and the project setup (providers, geo, weekdays and windows of a project's incoming pool)."""

from __future__ import annotations

from typing import Any

import reflex as rx

from app.core import get_resource, live, search_options
from app.core.errors import PultError, ValidationFailed
from app.core.ui import ERROR_TOAST, AuthState, set_url, tr, ui_session
from app.core.ui import ImportState, resource_import_page  # noqa: F401 - ImportState.load_here: the import page's on_load
from app.core.ui import forbidden_box
from app.core.ui import page_header
from app.panels.numbers import setup

from app.panels.numbers.routes import SETUP
NONE = "__none__"


def _num(n: int) -> str:
    return f"{n:,}".replace(",", "\u00a0")


def _options(db: Any, user: Any, key: str, limit: int = 500) -> list[list[str]]:
    return [[str(i), title] for i, title in search_options(db, get_resource(key), user, "", limit=limit)]


# --------------------------------------------------------------------------- import
def transfer_page() -> rx.Component:
    """Number import: the kit's import page for the declared ``Numbers.bulk_import`` (upload,
    project/provider/geo, the job's progress and error report); ``on_load`` is
    ``ImportState.load_here``."""
    return resource_import_page(get_resource("numbers.numbers"))


# --------------------------------------------------------------------------- project setup
class SetupState(AuthState):
    forbidden: bool = False
    can_edit: bool = False
    projects: list[list[str]] = []
    project_id: str = ""
    providers: list[list[str]] = []
    geos: list[list[str]] = []
    chosen_providers: list[str] = []
    chosen_geos: list[str] = []
    geo_filter: str = ""
    days: list[dict[str, str]] = []  # weekday, label, on ("1"/""), start, end
    errors: dict[str, str] = {}

    @rx.event
    def load(self):
        q = self.router.url.query_parameters
        self.project_id = q.get("project", "") if q.get("project", "").isdigit() else ""
        live.watch(self, {"project_provider", "project_geo", "project_schedule", "project"})
        return self._reload(sync=False)

    def live_refresh(self) -> None:
        self._reload(sync=False)

    def _reload(self, sync: bool = True):
        self.errors = {}
        try:
            with ui_session() as db:
                user = self.current_user()
                res = get_resource("numbers.projects")()
                self.forbidden = not res.can(user, "view")
                if self.forbidden:
                    return None
                self.projects = _options(db, user, "numbers.projects")
                if not self.project_id and self.projects:
                    self.project_id = self.projects[0][0]
                self.providers = _options(db, user, "numbers.providers")
                self.geos = _options(db, user, "numbers.geo", limit=2000)
                self.can_edit = res.can(user, "update")
                if self.project_id:
                    current = setup.read(db, user, int(self.project_id))
                    self.chosen_providers = [str(i) for i in current.providers]
                    self.chosen_geos = [str(i) for i in current.geos]
                    windows = {w.weekday: w for w in current.windows}
                    self.days = [{
                        "weekday": str(d), "label": self.t(f"numbers.weekday.{d}"), "on": "1" if d in windows else "",
                        "start": windows[d].start.strftime("%H:%M") if d in windows else "09:00",
                        "end": windows[d].end.strftime("%H:%M") if d in windows else "18:00",
                    } for d in range(7)]
        except PultError as exc:
            return self.fail(exc)
        return set_url(SETUP, {"project": self.project_id}) if sync else None

    @rx.event
    def choose_project(self, value: str | list[str]):
        self.project_id = value if isinstance(value, str) else (value[0] if value else "")
        return self._reload()

    @rx.event
    def toggle_provider(self, pid: str):
        self.chosen_providers = [p for p in self.chosen_providers if p != pid] if pid in self.chosen_providers else [*self.chosen_providers, pid]

    @rx.event
    def toggle_geo(self, gid: str):
        self.chosen_geos = [g for g in self.chosen_geos if g != gid] if gid in self.chosen_geos else [*self.chosen_geos, gid]

    @rx.event
    def set_geo_filter(self, value: str):
        self.geo_filter = value

    @rx.event
    def set_day(self, index: int, key: str, value: Any):
        days = [dict(d) for d in self.days]
        days[index][key] = ("1" if value else "") if key == "on" else str(value)
        self.days = days
        self.errors.pop(f"day{index}", None)

    @rx.event
    def save(self):
        if not self.project_id:
            return None
        try:
            windows = []
            for i, d in enumerate(self.days):
                if d["on"]:
                    windows.append((int(d["weekday"]), d["start"], d["end"]))
            with ui_session() as db:
                user = self.current_user()
                setup.save(db, user, int(self.project_id), [int(p) for p in self.chosen_providers], [int(g) for g in self.chosen_geos], windows)
        except ValidationFailed as exc:
            self.errors = exc.messages(self.lang)
            return rx.toast.error(next(iter(self.errors.values()), self.t("error.form")), id=ERROR_TOAST)
        except PultError as exc:
            return self.fail(exc)
        return self.ok(self.t("saved"))

    @rx.var
    def shown_geos(self) -> list[list[str]]:
        f = self.geo_filter.strip().casefold()
        return [g for g in self.geos if not f or f in g[1].casefold()][:300]


def setup_page() -> rx.Component:
    S = SetupState
    project = rx.select.root(
        rx.select.trigger(width=rx.breakpoints(initial="100%", sm="24em")),
        rx.select.content(rx.foreach(S.projects, lambda o: rx.select.item(o[1], value=o[0]))),
        value=S.project_id, on_change=S.choose_project, id="setup-project",
    )
    providers = rx.card(rx.vstack(
        rx.heading(tr("numbers.providers"), size="3"),
        rx.foreach(S.providers, lambda o: rx.checkbox(o[1], checked=S.chosen_providers.contains(o[0]), on_change=lambda _v: S.toggle_provider(o[0]),
                                                       disabled=~S.can_edit, id="prov-" + o[0])),
        spacing="2",
    ), width="100%")
    geos = rx.card(rx.vstack(
        rx.heading(tr("numbers.geo_list"), size="3"),
        rx.input(placeholder=tr("search"), value=S.geo_filter, on_change=S.set_geo_filter, size="1"),
        rx.scroll_area(rx.vstack(rx.foreach(S.shown_geos, lambda o: rx.checkbox(o[1], checked=S.chosen_geos.contains(o[0]),
                                                                                 on_change=lambda _v: S.toggle_geo(o[0]), disabled=~S.can_edit)),
                                 spacing="1"), max_height="22em", type="auto"),
        spacing="2", width="100%",
    ), width="100%")
    days = rx.card(rx.vstack(
        rx.heading(tr("numbers.schedules"), size="3"),
        rx.foreach(S.days, lambda d, i: rx.vstack(rx.hstack(
            rx.box(rx.checkbox(d["label"], checked=d["on"] == "1", on_change=lambda v: S.set_day(i, "on", v), disabled=~S.can_edit), width="9em", flex_shrink="0"),
            rx.hstack(
                rx.input(type="time", value=d["start"], on_change=lambda v: S.set_day(i, "start", v), disabled=~S.can_edit | (d["on"] != "1"), width="8.5em"),
                rx.text("—"),
                rx.input(type="time", value=d["end"], on_change=lambda v: S.set_day(i, "end", v), disabled=~S.can_edit | (d["on"] != "1"), width="8.5em"),
                align="center", spacing="2",
            ),
            align="center", spacing="2", wrap="wrap",
        ), rx.cond(S.errors.contains("day" + i.to(str)), rx.text(S.errors.get("day" + i.to(str), ""), color_scheme="red", size="1")), spacing="1",
            id="day-" + d["weekday"])),
        spacing="2",
    ), width="100%")
    body = rx.vstack(
        page_header(tr("numbers.setup"), project, rx.cond(S.can_edit, rx.button(rx.icon("save", size=14), tr("save"), on_click=S.save, id="setup-save"))),
        rx.text(tr("numbers.setup.help"), size="2", color_scheme="gray"),
        rx.cond(S.errors.contains(""), rx.callout(S.errors.get("", ""), color_scheme="red", icon="triangle-alert")),
        # Three columns only where the schedule fits in one (at 1280-1440 px it was cut off): below,
        # providers and geo side by side and the schedule across the row under them.
        rx.grid(providers, geos, rx.box(days, grid_column=rx.breakpoints(initial="auto", md="span 2", xl="auto")),
                columns=rx.breakpoints(initial="1", md="2", xl="3"), spacing="4", width="100%"),
        spacing="4", width="100%",
    )
    return rx.cond(S.forbidden, forbidden_box(), body)

