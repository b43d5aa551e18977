"""Inputs an action asks for (``@action(params=[...])``, e.g. the new status) inside its
confirmation dialog: a state mixin for the list and detail pages, and the dialog's body."""

from __future__ import annotations

from typing import Any

import reflex as rx

from app.core import crud
from app.core.errors import ValidationFailed
from app.core.resource import Resource
from app.core.ui.base import ui_session


class ActionParamsMixin(rx.State, mixin=True):
    param_fields: list[dict[str, str]] = []
    param_options: dict[str, list[list[str]]] = {}
    param_values: dict[str, str] = {}
    param_errors: dict[str, str] = {}

    def _load_params(self, res: Resource, name: str) -> bool:
        """Fill the inputs of action ``name``; True when it has any. Raises PultError."""
        from app.core.display import label_for

        self._clear_params()
        spec = res.actions.get(name)
        if spec is None or not spec.params:
            return False
        with ui_session() as db:
            user = self.current_user()  # type: ignore[attr-defined]
            for f in spec.params:
                # a choice (declared options, a select kind, a relation) is a list; anything else is typed
                # (a serial number, a quantity), parsed by its kind like a form field when the action runs
                chooses = bool(f.options) or f.kind in ("select", "relation", "multiselect") or bool(f.resource)
                self.param_fields.append({"name": f.name, "label": label_for(type(res), f.name, f.label, self.lang),  # type: ignore[attr-defined]
                                          "input": "" if chooses else "1", "help": self.t(f.help) if f.help else ""})  # type: ignore[attr-defined]
                self.param_options[f.name] = [[v, self.t(lbl)] for v, lbl in crud.action_options(db, user, f)]  # type: ignore[attr-defined]
        return True

    def _clear_params(self) -> None:
        self.param_fields, self.param_options, self.param_values, self.param_errors = [], {}, {}, {}

    def _keep_params_open(self, exc: ValidationFailed) -> bool:
        """A message about one of the inputs goes under it (the dialog stays open): True if so."""
        messages = exc.messages(self.lang)  # type: ignore[attr-defined]
        if self.param_fields and set(messages) & {f["name"] for f in self.param_fields}:
            self.param_errors = messages
            return True
        return False

    @rx.event
    def set_param(self, name: str, value: str | list[str]):
        self.param_values[name] = value if isinstance(value, str) else (value[0] if value else "")
        self.param_errors.pop(name, None)


def action_params(state: Any) -> rx.Component:
    """The inputs of the pending action, for the body of its confirmation dialog."""
    return rx.vstack(
        rx.foreach(state.param_fields, lambda f: rx.vstack(
            rx.text(f["label"], size="2", weight="medium"),
            rx.cond(
                f["input"] == "1",
                rx.input(value=state.param_values.get(f["name"], ""), on_change=lambda v: state.set_param(f["name"].to(str), v),
                         width="100%", id="param-input-" + f["name"].to(str), auto_focus=True),
                rx.select.root(
                    rx.select.trigger(placeholder="—", width="100%"),
                    rx.select.content(rx.foreach(state.param_options.get(f["name"], []), lambda o: rx.select.item(o[1], value=o[0]))),
                    value=state.param_values.get(f["name"], ""),
                    on_change=lambda v: state.set_param(f["name"].to(str), v),
                ),
            ),
            rx.cond(f["help"] != "", rx.text(f["help"], size="1", color_scheme="gray")),
            rx.cond(state.param_errors.contains(f["name"]), rx.text(state.param_errors.get(f["name"], ""), color_scheme="red", size="1")),
            spacing="1", width="100%", id="param-" + f["name"].to(str),
        )),
        width="100%", margin_top="0.75em", spacing="3",
    )
