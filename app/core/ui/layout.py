"""The page shell: sidebar grouped by panel, top bar (search, language, theme, user, logout)."""

from __future__ import annotations

import reflex as rx

from app.core import crud
from app.core.errors import PultError
from app.core.i18n import pair
from app.core.registry import PANELS, RESOURCES, import_ref
from app.core.ui.base import AuthState, tr, ui_session
from app.core.ui.bell import bell


class SearchState(AuthState):
    """Global search: the first few matches in every resource the user may view."""

    q: str = ""
    hits: list[dict[str, str]] = []

    @rx.event
    def search(self, q: str):
        self.q = q
        self.hits = []
        if len(q.strip()) < 2:
            return None
        try:
            with ui_session() as db:
                user = self.current_user()
                for key, res_cls in RESOURCES.items():
                    if not res_cls.search:
                        continue
                    res = res_cls()
                    ru, en = pair(res.label or res.slug)
                    for rid, title in crud.search_options(db, res, user, q, limit=4):
                        self.hits.append({"label": title, "where": en if self.lang == "en" else ru, "href": f"{res.url()}/{rid}"})
        except PultError as exc:
            return self.fail(exc)

    @rx.event
    def clear(self):
        self.q, self.hits = "", []


def _nav_link(key: str, text: rx.Var, href: str, icon: str, closing: bool = False) -> rx.Component:
    return rx.cond(
        AuthState.menu.contains(key),
        _closing(closing, rx.link(
            rx.hstack(rx.icon(icon, size=16), rx.text(text, size="2"), spacing="2", align="center"),
            href=href, underline="none", color=rx.color("gray", 12), padding_x="0.6em", padding_y="0.35em", border_radius="6px",
            _hover={"background": rx.color("accent", 3)}, width="100%",
        )),
    )


def _closing(closing: bool, c: rx.Component) -> rx.Component:
    """Inside the phone-width drawer, choosing an entry also closes the drawer."""
    return rx.drawer.close(rx.box(c, width="100%", display="flex"), as_child=True) if closing else c  # flex: the inline link would add line boxes


#: Below this Radix breakpoint (md: 1024 px) the sidebar folds into the top bar's menu button.
WIDE = "md"


def _nav(closing: bool) -> list[rx.Component]:
    """The menu: home, then each panel's entries the user may open. ``closing``: inside the
    phone-width drawer, where choosing an entry also closes it."""
    def item(c: rx.Component) -> rx.Component:
        return _closing(closing, c)

    groups = []
    for panel in PANELS.values():
        items = [_nav_link(r.key(), tr(r.label or r.slug), r.url(), r.icon, closing) for r in panel.resources if r.menu]
        items += [_nav_link(p.route, tr(p.title), p.route, p.icon, closing) for p in panel.pages if p.menu]
        keys = [r.key() for r in panel.resources] + [p.route for p in panel.pages]
        visible = rx.Var.create(False)
        for k in keys:
            visible = visible | AuthState.menu.contains(k)
        groups.append(rx.cond(visible, rx.vstack(rx.text(tr(panel.label), size="1", weight="bold", color_scheme="gray", padding_x="0.6em", text_transform="uppercase"), *items, spacing="1", width="100%")))
    return [
        item(rx.link(rx.hstack(rx.icon("gauge", size=22), rx.heading(tr("app.title"), size="5"), align="center"), href="/", underline="none", color=rx.color("gray", 12))),
        item(rx.link(rx.hstack(rx.icon("house", size=16), rx.text(tr("home"), size="2"), spacing="2"), href="/", underline="none", color=rx.color("gray", 12), padding_x="0.6em")),
        *groups,
    ]


def sidebar() -> rx.Component:
    return rx.vstack(
        *_nav(closing=False),
        spacing="4", padding="1em", width="15em", min_width="15em", height="100vh", position="sticky", top="0",
        border_right=f"1px solid {rx.color('gray', 5)}", background=rx.color("gray", 2), overflow_y="auto",
        display=rx.breakpoints(initial="none", **{WIDE: "flex"}), id="sidebar",
    )


def menu_button() -> rx.Component:
    """Phone and tablet widths: the menu in a drawer from the left, behind a button in the top bar."""
    return rx.drawer.root(
        rx.drawer.trigger(rx.icon_button(rx.icon("menu", size=18), variant="ghost", size="2", id="menu-button", title=tr("menu"))),
        rx.drawer.overlay(z_index="70"),
        rx.drawer.portal(rx.drawer.content(
            rx.vstack(*_nav(closing=True), spacing="4", padding="1em", width="100%", height="100%", overflow_y="auto"),
            top="0", left="0", height="100%", width="17em", max_width="85vw", background=rx.color("gray", 2), z_index="80", id="menu-drawer",
        )),
        direction="left",
    )


def global_search() -> rx.Component:
    return rx.box(
        rx.debounce_input(rx.input(rx.input.slot(rx.icon("search", size=14)), value=SearchState.q, on_change=SearchState.search, placeholder=tr("search.global"), width="100%", id="global-search"), debounce_timeout=300),
        rx.cond(
            SearchState.hits.length() > 0,
            rx.card(
                rx.vstack(
                    rx.foreach(SearchState.hits, lambda h: rx.link(rx.hstack(rx.text(h["label"], size="2"), rx.spacer(), rx.badge(h["where"], size="1", variant="soft")), href=h["href"], on_click=SearchState.clear, width="100%", underline="none")),
                    spacing="1", width="100%",
                ),
                position="absolute", z_index="60", width="min(22em, 90vw)", margin_top="0.25em",
            ),
        ),
        position="relative", width=rx.breakpoints(initial="100%", sm="22em"), min_width="0", flex_shrink="1",
    )


def topbar() -> rx.Component:
    return rx.hstack(
        rx.box(menu_button(), display=rx.breakpoints(initial="block", **{WIDE: "none"})),
        global_search(),
        rx.spacer(),
        bell(),
        rx.button(rx.cond(AuthState.lang == "en", "RU", "EN"), variant="ghost", size="2", on_click=AuthState.toggle_lang, id="lang-switch", title=tr("language")),
        rx.color_mode.button(size="2", variant="ghost"),
        rx.hstack(
            rx.icon("circle-user", size=18),
            rx.vstack(
                rx.text(AuthState.full_name, size="2", weight="medium", id="current-user"),
                rx.text(AuthState.role_label, size="1", color_scheme="gray", id="current-roles"),
                spacing="0",
            ),
            align="center", spacing="2", display=rx.breakpoints(initial="none", sm="flex"),
        ),
        # Signs out over HTTP (app.core.ui.signin): the server clears the HttpOnly cookie.
        rx.button(rx.icon("log-out", size=14), rx.text(tr("logout"), display=rx.breakpoints(initial="none", sm="inline")), variant="soft", size="2", type="button",
                  id="logout", title=tr("logout"), custom_attrs={"data-pult-logout": ""}),
        width="100%", padding_x=rx.breakpoints(initial="0.75em", sm="1.5em"), padding_y="0.75em", border_bottom=f"1px solid {rx.color('gray', 5)}", align="center",
        spacing=rx.breakpoints(initial="2", sm="3"),
    )


def page_loader() -> rx.Component:
    """A neutral full-page loader: what a page shows until the backend answered (no menu, no user,
    nothing that suggests a session exists); the reason instead when the backend could not."""
    return rx.center(
        rx.cond(
            AuthState.boot_error != "",
            rx.vstack(
                rx.callout(AuthState.boot_error, icon="triangle-alert", color_scheme="red", id="boot-error"),
                rx.button(tr("login.retry"), variant="soft", on_click=rx.call_script("window.location.reload()")),
                align="center", spacing="3",
            ),
            rx.vstack(rx.spinner(size="3"), rx.text(tr("login.checking"), size="2", color_scheme="gray"), align="center", spacing="3"),
        ),
        id="page-loader", width="100%", min_height="100vh",
    )


def shell(content: rx.Component) -> rx.Component:
    """Sidebar, top bar and ``content`` — rendered only once ``require_login`` confirmed the
    session; until then (and for a visitor who is being sent to /login) :func:`page_loader`."""
    overlays = [import_ref(make)() for panel in PANELS.values() for make in panel.overlays]  # Panel.overlays: on every page
    return rx.cond(
        AuthState.signed_in,
        rx.hstack(
            sidebar(),
            rx.vstack(topbar(), rx.box(content, padding=rx.breakpoints(initial="0.75em", sm="1.5em"), width="100%"), spacing="0", width="100%", min_width="0"),
            *overlays,
            spacing="0", width="100%", align="start",
        ),
        page_loader(),
    )
