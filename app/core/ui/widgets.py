"""Small shared components: field labels, relation picker, confirmation dialog, page header, the
"not allowed" box."""

from __future__ import annotations

import reflex as rx

from app.core.display import label_for
from app.core.i18n import pair
from app.core.registry import RESOURCES
from app.core.ui.base import AuthState, tr


def forbidden_box() -> rx.Component:
    """What a page shows a user without its permission (the page still loads; its data does not)."""
    return rx.center(
        rx.vstack(rx.icon("shield-x", size=40, color=rx.color("red", 9)), rx.heading(tr("forbidden"), size="5"), rx.text(tr("forbidden.page")), align="center", id="forbidden"),
        padding="4em", width="100%",
    )


def label(res, name: str, explicit: str | None = None) -> rx.Var:
    ru, en = label_for(res, name, explicit, "ru"), label_for(res, name, explicit, "en")
    return rx.cond(AuthState.lang == "en", en, ru)


def page_header(title: rx.Var | str, *right: rx.Component) -> rx.Component:
    # Wraps at narrow widths: the title on its own line, the buttons below it (nothing cut off).
    return rx.hstack(rx.heading(title, size="6"), rx.spacer(), *right, width="100%", align="center", padding_bottom="0.75em", wrap="wrap", row_gap="0.5em")


def confirm_dialog(open_var: rx.Var, text: rx.Var, on_ok, on_cancel, *body: rx.Component) -> rx.Component:
    return rx.alert_dialog.root(
        rx.alert_dialog.content(
            rx.alert_dialog.title(tr("confirm.title")),
            rx.alert_dialog.description(text),
            *body,
            rx.hstack(
                rx.alert_dialog.cancel(rx.button(tr("cancel"), variant="soft", color_scheme="gray", on_click=on_cancel)),
                rx.alert_dialog.action(rx.button(tr("confirm.ok"), on_click=on_ok, id="confirm-ok")),
                justify="end", spacing="3", margin_top="1em",
            ),
        ),
        open=open_var,
    )


class PickerState(AuthState):
    """Server-side search for relation pickers (forms and filters). ``key`` names one picker on screen."""

    query: dict[str, str] = {}
    results: dict[str, list[dict[str, str]]] = {}
    open_key: str = ""

    @rx.event
    def search(self, key: str, target: str, q: str):
        from app.core import crud
        from app.core.ui.base import ui_session

        self.query[key] = q
        self.open_key = key
        try:
            with ui_session() as db:
                user = self.current_user()
                options = crud.search_options(db, RESOURCES[target], user, q, limit=12)
        except Exception as exc:  # noqa: BLE001 - a failed lookup shows no options, the toast says why
            self.results[key] = []
            return self.fail(exc)
        self.results[key] = [{"id": str(i), "label": title} for i, title in options]

    @rx.event
    def close(self):
        self.open_key = ""


def relation_picker(key: str, target: str, current_label: rx.Var, on_pick, placeholder: rx.Var | str = "", width: str = "100%") -> rx.Component:
    """An input that searches ``target`` server-side; choosing an option calls ``on_pick(id, label)``."""
    return rx.box(
        rx.hstack(
            rx.input(
                value=rx.cond(PickerState.open_key == key, PickerState.query.get(key, "").to(str), current_label),
                placeholder=placeholder,
                on_change=lambda v: PickerState.search(key, target, v),
                on_focus=PickerState.search(key, target, ""),
                # Leaving the input closes the list (it stayed open over the next field); the
                # options keep the focus on mouse-down, so a click on one still picks it.
                on_blur=PickerState.close,
                width="100%",
                name=key,
                auto_complete="off",
            ),
            rx.cond(
                current_label != "",
                rx.icon_button(rx.icon("x", size=14), size="1", variant="ghost", on_click=[PickerState.close, on_pick("", "")], type="button"),
            ),
            spacing="1", align="center", width="100%",
        ),
        rx.cond(
            (PickerState.open_key == key),
            rx.card(
                rx.vstack(
                    rx.foreach(
                        PickerState.results.get(key, []).to(list[dict[str, str]]),
                        lambda o: rx.button(
                            o["label"], variant="ghost", width="100%", justify_content="flex-start", text_align="left", type="button",
                            on_mouse_down=rx.prevent_default,
                            on_click=[PickerState.close, on_pick(o["id"], o["label"])],
                        ),
                    ),
                    rx.cond(PickerState.results.get(key, []).to(list[dict[str, str]]).length() == 0, rx.text(tr("rows.empty"), size="1", color_scheme="gray")),
                    spacing="0", align="stretch", max_height="260px", overflow_y="auto",
                ),
                custom_attrs={"data-picker": key},
                background=rx.color("gray", 1),  # opaque: the field below must not show through
                position="absolute", z_index="50", width="100%", padding="0.25em", box_shadow=rx.color_mode_cond("0 6px 16px rgba(0,0,0,0.15)", "0 6px 16px rgba(0,0,0,0.5)"),
            ),
        ),
        position="relative", width=width,
    )


def resource_label(key: str, one: bool = False) -> rx.Var:
    res = RESOURCES[key]
    k = (res.label_one if one else res.label) or res.label or res.slug
    ru, en = pair(k)
    return rx.cond(AuthState.lang == "en", en, ru)
