"""Inputs an action asks for (``@action(params=[...])``, e.g. the new status) inside its
confirmation dialog: a state mixin for the list and detail pages, and the dialog's body.

A file parameter (``fields.photo("photo")``: the installation photo) is a drop zone: the file is
checked and stored at once as the user's pending upload (:mod:`app.core.files`), the parameter
holds its id, and running the action gives it to the record (:func:`app.core.crud.run_action`).
One file parameter per action."""

from __future__ import annotations

from typing import Any

import asyncio

import reflex as rx

from app.core import crud
from app.core import files as file_store
from app.core.errors import NotAuthenticated, PermissionDenied, PultError, ValidationFailed
from app.core.kinds import kind_for
from app.core.resource import Resource
from app.core.ui.base import tr, ui_session

#: The drop zone of an action's file parameter (one per dialog).
PARAM_UPLOAD_ID = "upload-param"


class ActionParamsMixin(rx.State, mixin=True):
    param_fields: list[dict[str, str]] = []
    param_options: dict[str, list[list[str]]] = {}
    param_values: dict[str, str] = {}
    param_errors: dict[str, str] = {}
    #: The action's file parameter (its name; "" when it has none), what it accepts and the chosen file.
    param_file: str = ""
    param_file_photo: bool = False
    param_file_limits: str = ""
    param_file_url: str = ""
    param_file_name: str = ""
    _param_action: str = ""

    def _load_params(self, res: Resource, name: str) -> bool:
        """Fill the inputs of action ``name``; True when it has any. Raises PultError."""
        from app.core.display import label_for

        self._clear_params()
        spec = res.actions.get(name)
        if spec is None or not spec.params:
            return False
        with ui_session() as db:
            user = self.current_user()  # type: ignore[attr-defined]
            self._param_action = name
            for f in spec.params:
                if kind_for(res.model, f).links_file:
                    limits = file_store.limits_of(f)
                    self.param_file, self.param_file_photo = f.name, kind_for(res.model, f).cell == "photo"
                    self.param_file_limits = f"{limits.type_names()} · ≤ {limits.max_mb} {self.t('files.mb')}"  # type: ignore[attr-defined]
                    self.param_fields.append({"name": f.name, "label": label_for(type(res), f.name, f.label, self.lang),  # type: ignore[attr-defined]
                                              "input": "file", "help": self.t(f.help) if f.help else ""})  # type: ignore[attr-defined]
                    continue
                # a choice (declared options, a select kind, a relation) is a list; anything else is typed
                # (a serial number, a quantity), parsed by its kind like a form field when the action runs
                chooses = bool(f.options) or f.kind in ("select", "relation", "multiselect") or bool(f.resource)
                self.param_fields.append({"name": f.name, "label": label_for(type(res), f.name, f.label, self.lang),  # type: ignore[attr-defined]
                                          "input": "" if chooses else "1", "help": self.t(f.help) if f.help else ""})  # type: ignore[attr-defined]
                self.param_options[f.name] = [[v, self.t(lbl)] for v, lbl in crud.action_options(db, user, f)]  # type: ignore[attr-defined]
        return True

    def _clear_params(self) -> None:
        self.param_fields, self.param_options, self.param_values, self.param_errors = [], {}, {}, {}
        self.param_file = self.param_file_limits = self.param_file_url = self.param_file_name = self._param_action = ""
        self.param_file_photo = False

    @rx.event
    async def upload_param(self, files: list[rx.UploadFile]):
        """A file dropped on the action's drop zone: checked (size, type by its bytes, an image that
        opens) and stored as the user's pending upload, only for a user who may run the action; a
        refused file leaves its reason under the zone and nothing stored."""
        name, action = self.param_file, self._param_action
        if not name or not action or not files:
            return None
        res: Resource = self._res()  # type: ignore[attr-defined]
        spec = next((f for f in res.actions[action].params if f.name == name), None)
        upload = files[0]

        def store(user) -> tuple[int, str, str]:
            if not res.can(user, action):
                raise PermissionDenied()
            with ui_session() as db:
                stored = file_store.put(db, user, upload.file, upload.name or "file", limits=file_store.limits_of(spec))
                return stored.id, file_store.presign(stored, thumb=stored.content_type in file_store.IMAGE_TYPES), stored.name

        try:
            user = self.current_user()  # type: ignore[attr-defined]
            file_id, url, shown = await asyncio.to_thread(store, user)
        except ValidationFailed as exc:
            self.param_errors[name] = next(iter(exc.messages(self.lang).values()), self.t("error.form"))  # type: ignore[attr-defined]
            return None
        except NotAuthenticated as exc:
            return self.fail(exc)  # type: ignore[attr-defined]
        except PultError as exc:
            self.param_errors[name] = exc.message(self.lang)  # type: ignore[attr-defined]
            return None
        self.param_values[name], self.param_file_url, self.param_file_name = str(file_id), url, shown
        self.param_errors.pop(name, None)
        return None

    @rx.event
    def remove_param_file(self):
        """Clear the file parameter; the pending upload is deleted at once."""
        self._discard_param_file()

    def _discard_param_file(self) -> None:
        """Delete the file parameter's upload (the dialog was cancelled: no record will hold it)."""
        value = self.param_values.pop(self.param_file, "") if self.param_file else ""
        if value:
            try:
                with ui_session() as db:
                    user = self.current_user()  # type: ignore[attr-defined]
                    if file_store.get(db, user, value).owner_resource is None:  # never a record's own file
                        file_store.delete(db, user, value)
            except PultError:
                pass
        self.param_file_url = self.param_file_name = ""

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


def _param_file_zone(state: Any) -> rx.Component:
    """The drop zone of the action's file parameter, with the chosen file (a photo's thumbnail) above it."""
    shown = rx.cond(
        state.param_file_photo,
        rx.image(src=state.param_file_url, alt=state.param_file_name, height="96px", max_width="200px", object_fit="cover",
                 border_radius="var(--radius-2)", id="param-file-preview"),
        rx.hstack(rx.icon("paperclip", size=14), rx.text(state.param_file_name, size="2"), spacing="1", align="center", id="param-file-preview"),
    )
    return rx.vstack(
        rx.cond(state.param_file_url != "", rx.hstack(
            rx.link(shown, href=state.param_file_url, is_external=True),
            rx.icon_button(rx.icon("x", size=14), size="1", variant="soft", color_scheme="red", type="button", on_click=state.remove_param_file,
                           aria_label=tr("files.remove"), title=tr("files.remove"), id="param-file-remove"),
            spacing="2", align="center",
        )),
        rx.upload.root(
            rx.vstack(
                rx.icon("image-up", size=20, color=rx.color("gray", 10)),
                rx.text(tr("files.upload"), size="1", color_scheme="gray", text_align="center"),
                rx.text(state.param_file_limits, size="1", color_scheme="gray"),
                align="center", spacing="1",
            ),
            id=PARAM_UPLOAD_ID, multiple=False, max_files=1,
            on_drop=state.upload_param(rx.upload_files(upload_id=PARAM_UPLOAD_ID)),
            border=f"1px dashed {rx.color('gray', 8)}", border_radius="var(--radius-3)", padding="0.75em", width="100%", cursor="pointer",
        ),
        spacing="2", width="100%",
    )


def action_params(state: Any) -> rx.Component:
    """The inputs of the pending action, for the body of its confirmation dialog."""
    return rx.vstack(
        rx.foreach(state.param_fields, lambda f: rx.vstack(
            rx.text(f["label"], size="2", weight="medium"),
            rx.match(
                f["input"],
                ("1", rx.input(value=state.param_values.get(f["name"], ""), on_change=lambda v: state.set_param(f["name"].to(str), v),
                               width="100%", id="param-input-" + f["name"].to(str), auto_focus=True)),
                ("file", _param_file_zone(state)),
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
