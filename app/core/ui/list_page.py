"""The generated list page of a resource: filters, table, paging, selection, bulk and row actions."""

from __future__ import annotations

from collections.abc import Callable

import reflex as rx
from reflex.vars.function import FunctionStringVar

from app.core.kinds import field_options, kind_named
from app.core.resource import Column, Filter, FormField, Resource, field_python_type, is_enum
from app.core.ui.action_params import action_params
from app.core.ui.base import AuthState, tr
from app.core.ui.list_state import ListState
from app.core.ui.widgets import confirm_dialog, forbidden_box, label, page_header, relation_picker, resource_label

#: How long a typed search (or a text filter) waits for the next keystroke before it asks the server.
#: Enter sends at once. 200 ms is under the gap between keystrokes of most typists, so a word is one
#: query, and short enough that the rows follow the typing (issue 9: 350 ms felt slow, ~430 ms in all).
SEARCH_DEBOUNCE_MS = 200


def _filter_control(res: type[Resource], f: Filter) -> rx.Component:
    title = label(res, f.name, f.label)
    value = ListState.filters.get(f.name, "").to(str)
    if f.kind == "text":
        control = rx.debounce_input(
            rx.input(value=value, on_change=lambda v: ListState.set_filter(f.name, v), placeholder="…", size="2", width="12em"),
            debounce_timeout=SEARCH_DEBOUNCE_MS,
        )
    elif f.kind in ("number", "date"):
        kind = "date" if f.kind == "date" else "number"
        lo = value.split("..")[0]
        hi = rx.cond(value.contains(".."), value.split("..")[1], "")
        control = rx.hstack(
            rx.debounce_input(rx.input(type=kind, value=lo, placeholder=tr("from"), on_change=lambda v: ListState.set_range(f.name, "lo", v), size="2", width="9em"), debounce_timeout=500),
            rx.debounce_input(rx.input(type=kind, value=hi, placeholder=tr("to"), on_change=lambda v: ListState.set_range(f.name, "hi", v), size="2", width="9em"), debounce_timeout=500),
            spacing="1",
        )
    elif f.kind == "ternary":
        control = rx.select.root(
            rx.select.trigger(width="8em"),
            rx.select.content(
                rx.select.item(tr("any"), value="__any__"), rx.select.item(tr("yes"), value="1"), rx.select.item(tr("no"), value="0"),
            ),
            value=rx.cond(value == "", "__any__", value), on_change=lambda v: ListState.set_filter(f.name, v), size="2",
        )
    elif f.kind == "relation":
        control = relation_picker(
            f"filter:{f.name}", f.resource, ListState.filter_labels.get(f.name, "").to(str),
            lambda i, t: ListState.set_relation_filter(f.name, i, t), placeholder=tr("any"), width="14em",
        )
    else:  # select
        static = list(f.options) if f.options is not None else field_options(res.model, FormField(f.name)) if is_enum(field_python_type(res.model, f.name)) else None
        if static is not None:
            items = [rx.select.item(tr(k) if _is_key(k) else k, value=v) for v, k in static]
        else:
            items = [rx.foreach(ListState.select_options.get(f.name, []).to(list[list[str]]), lambda o: rx.select.item(o[1], value=o[0]))]
        control = rx.select.root(
            rx.select.trigger(width="12em"),
            rx.select.content(rx.select.item(tr("any"), value="__any__"), *items),
            value=rx.cond(value == "", "__any__", value), on_change=lambda v: ListState.set_filter(f.name, v), size="2",
        )
    return rx.vstack(rx.text(title, size="1", color_scheme="gray"), control, spacing="1", id=f"filter-{f.name}")


def _is_key(k: str) -> bool:
    from app.core.i18n import has

    return has(k)


def _header(res: type[Resource], j: int, c: Column) -> rx.Component:
    title = label(res, c.name, c.label)
    if c.is_sortable:
        arrow = rx.cond(ListState.sort == c.name, " ↑", rx.cond(ListState.sort == f"-{c.name}", " ↓", ""))
        inner = rx.el.button(title, arrow, on_click=ListState.sort_by(c.name), style={"cursor": "pointer", "fontWeight": 600, "background": "none", "border": "none", "padding": 0, "color": "inherit"})
    else:
        inner = rx.text(title, weight="bold")
    cell = rx.table.column_header_cell(inner, text_align="right" if kind_named(c.kind).align_right else "left", white_space="nowrap")
    return rx.cond(ListState.hidden.contains(c.name), rx.fragment(), cell)


def _progress_cell(text: rx.Var) -> rx.Component:
    # The cell holds the percentage as text: Radix needs a number (a string made every bar empty).
    percent = FunctionStringVar.create("Number").call(text).to(int)
    return rx.hstack(rx.progress(value=percent, max=100, width="7em"), rx.text(text, " %", size="1"), align="center", spacing="2")


#: List cell components by the name a field kind gives in ``Kind.cell`` (the shown text in, a
#: component out). A kind with a cell of its own (a photo thumbnail) adds one here.
def _photo_cell(url: rx.Var) -> rx.Component:
    """A photo's thumbnail (the cell holds its presigned URL, see ``list_state.file_urls``)."""
    return rx.cond(url != "", rx.image(src=url.to(str), alt="", height="40px", width="40px", object_fit="cover",
                                       border_radius="var(--radius-2)", loading="lazy", custom_attrs={"data-photo": "1"}), rx.fragment())


def _file_cell(url: rx.Var) -> rx.Component:
    """A file: a paperclip that downloads it."""
    return rx.cond(url != "", rx.link(rx.icon("paperclip", size=16), href=url.to(str), is_external=True), rx.fragment())


CELLS: dict[str, Callable[[rx.Var], rx.Component]] = {
    "text": rx.text,
    "progress": _progress_cell,
    "photo": _photo_cell,
    "file": _file_cell,
}


def _cell(res: type[Resource], row: rx.Var, j: int, c: Column) -> rx.Component:
    text = row[f"c{j}"]
    kind = kind_named(c.kind)
    if c.is_link:
        content = rx.link(text, href=f"{res.url()}/" + row["id"].to(str), weight="medium")
    elif c.href_fn is not None:
        content = rx.cond(row[f"h{j}"] != "", rx.link(text, href=row[f"h{j}"].to(str), is_external=True), rx.text(text))
    elif kind.cell != "text" or c.badge_fn is None:
        content = CELLS[kind.cell](text)
    else:
        content = rx.cond(row[f"b{j}"] != "", rx.badge(text, color_scheme=row[f"b{j}"].to(str), variant="soft"), rx.text(text))
    if c.is_editable:
        content = _editable(row, j, content)
    cell = rx.table.cell(content, text_align="right" if kind.align_right else "left", white_space="normal" if kind.wraps else "nowrap")
    return rx.cond(ListState.hidden.contains(c.name), rx.fragment(), cell)


def _editable(row: rx.Var, j: int, shown: rx.Component) -> rx.Component:
    """A cell edited in place (``col(...).editable()``): for a user who may update the record, a
    pencil (or a double-click) turns it into an input; Enter saves, Escape cancels, a refused value
    shows its message under the input."""
    key = row["id"].to(str) + f":{j}"
    start = ListState.start_edit(row["id"].to(str), j, row[f"e{j}"].to(str))
    editor = rx.vstack(
        rx.input(value=ListState.edit_value, on_change=ListState.set_edit_value, on_key_down=ListState.edit_key, on_blur=ListState.cancel_edit,
                 auto_focus=True, size="1", width="7em", id=f"cell-input-{j}", custom_attrs={"data-cell": key}),
        rx.cond(ListState.edit_error != "", rx.text(ListState.edit_error, color_scheme="red", size="1", white_space="normal", max_width="14em", id="cell-error")),
        spacing="1", align="end",
    )
    view = rx.cond(
        row["can_update"] == "1",
        rx.hstack(
            shown,
            rx.icon_button(rx.icon("pencil", size=12), size="1", variant="ghost", color_scheme="gray", on_click=start, type="button",
                           aria_label=tr("cell.edit"), title=tr("cell.edit"), custom_attrs={"data-edit": key}, opacity="0.6"),
            on_double_click=start, spacing="1", align="center", justify="end",
        ),
        shown,
    )
    return rx.cond(ListState.editing == key, editor, view)


def _row_actions(res: type[Resource], row: rx.Var) -> rx.Component:
    buttons = []
    for name, spec in res.actions.items():
        if spec.row:
            buttons.append(rx.cond(
                row[f"a_{name}"] == "1",
                rx.button(tr(spec.label), size="1", variant="soft", **_color(spec), on_click=ListState.ask(name, row["id"].to(str))),
            ))
    if res.has_soft_delete():
        buttons.append(rx.cond(ListState.trash, rx.button(tr("restore"), size="1", variant="soft", on_click=ListState.restore(row["id"].to(str)))))
    if "update" in res.operations:
        buttons.append(rx.cond(
            (row["can_update"] == "1") & ~ListState.trash,
            rx.link(rx.icon_button(rx.icon("pencil", size=14), size="1", variant="ghost"), href=f"{res.url()}/" + row["id"].to(str) + "/edit"),
        ))
    # Pinned to the right edge: on a table wider than the page the row's buttons stay in view.
    return rx.table.cell(rx.hstack(*buttons, spacing="2", justify="end"), white_space="nowrap", **STICKY_END)


#: The actions column sticks to the right edge of the table's scroll area, over a solid background.
STICKY_END = {"position": "sticky", "right": "0", "background": "var(--color-panel-solid)", "z_index": "1",
              "box_shadow": f"inset 0 -1px var(--gray-a5), -6px 0 6px -6px {rx.color('gray', 8)}"}  # keeps the row's bottom line


def _bulk_bar(res: type[Resource]) -> rx.Component:
    buttons = [
        rx.cond(
            ListState.bulk_allowed.contains(name),
            rx.button(tr(spec.label), size="1", **_color(spec), on_click=ListState.ask(name, ""), id=f"bulk-{name}"),
        )
        for name, spec in res.actions.items() if spec.bulk
    ]
    if "delete" in res.operations:
        buttons.append(rx.cond(ListState.can_delete & ~ListState.trash, rx.button(tr("delete"), size="1", color_scheme="red", variant="soft", on_click=ListState.ask("delete", ""), id="bulk-delete")))
    return rx.cond(
        ListState.selected.length() > 0,
        rx.hstack(
            rx.text(rx.cond(AuthState.lang == "en", "Selected: ", "Выбрано: "), rx.cond(ListState.all_matching, ListState.total_number, ListState.selected.length()), size="2", id="selected-count"),
            # A button, not a link: an ``href="#"`` navigated to the bare list (filters and selection gone).
            rx.cond(
                ~ListState.all_matching & ListState.has_next,
                rx.button(rx.cond(AuthState.lang == "en", "Select all matching (", "Выбрать все подходящие ("), ListState.total_text, ")",
                          on_click=ListState.select_all_matching, size="1", variant="ghost", type="button", id="select-all-matching"),
            ),
            *buttons,
            spacing="3", align="center", padding="0.5em", border_radius="6px", background=rx.color("accent", 3), width="100%", wrap="wrap",
        ),
    )


#: Back/Forward between a list's own history entries: the hidden button asks the list to follow
#: the URL (its event carries the address bar's query, read when it is sent).
POPSTATE_SCRIPT = """
window.addEventListener('popstate', () => { setTimeout(() => document.getElementById('list-follow-url')?.click(), 0); });
"""


def head_script() -> rx.Component:
    """The ``popstate`` listener, once per document (see ``ListState.follow_url``)."""
    from reflex_components_core.el.elements.scripts import Script

    return Script.create(POPSTATE_SCRIPT)


def _columns_menu(res: type[Resource]) -> rx.Component:
    return rx.menu.root(
        rx.menu.trigger(rx.button(rx.icon("columns-3", size=14), tr("columns"), variant="soft", size="2")),
        rx.menu.content(*[
            rx.menu.item(
                rx.hstack(rx.cond(ListState.hidden.contains(c.name), rx.icon("square", size=14), rx.icon("square-check", size=14)), label(res, c.name, c.label)),
                on_select=ListState.toggle_column(c.name),
            )
            for c in res.columns
        ]),
    )


def list_page(res: type[Resource]) -> rx.Component:
    head_checkbox = rx.checkbox(checked=(ListState.selected.length() == ListState.rows.length()) & (ListState.rows.length() > 0), on_change=ListState.toggle_page)
    table = rx.table.root(
        rx.table.header(rx.table.row(
            rx.table.column_header_cell(head_checkbox, width="2em"),
            *[_header(res, j, c) for j, c in enumerate(res.columns)],
            rx.table.column_header_cell("", **STICKY_END),
        )),
        rx.table.body(rx.foreach(
            ListState.rows,
            lambda row: rx.table.row(
                rx.table.cell(rx.checkbox(checked=ListState.selected.contains(row["id"]), on_change=lambda _v: ListState.toggle_row(row["id"].to(str)))),
                *[_cell(res, row, j, c) for j, c in enumerate(res.columns)],
                _row_actions(res, row),
                id="row-" + row["id"].to(str),
            ),
        )),
        variant="surface", size="1", width="100%", id="list-table",
    )
    pager = rx.hstack(
        rx.text(ListState.total_text, size="2", color_scheme="gray", id="list-total"),
        rx.cond(ListState.total_is_estimate, rx.button(tr("rows.count_exact"), on_click=ListState.count_exact, size="1", variant="ghost", type="button", id="count-exact")),
        rx.spacer(),
        rx.button(tr("page.first"), size="1", variant="soft", disabled=~ListState.has_prev, on_click=ListState.go("first"), id="page-first"),
        rx.button(tr("page.prev"), size="1", variant="soft", disabled=~ListState.has_prev, on_click=ListState.go("prev"), id="page-prev"),
        rx.cond(~ListState.keyset, rx.text(ListState.page + 1, size="2")),
        rx.button(tr("page.next"), size="1", variant="soft", disabled=~ListState.has_next, on_click=ListState.go("next"), id="page-next"),
        rx.button(tr("page.last"), size="1", variant="soft", disabled=~ListState.has_next, on_click=ListState.go("last"), id="page-last"),
        width="100%", align="center", spacing="2", wrap="wrap",  # "Точное число" beside the buttons overflowed a phone
    )
    export_menu = rx.menu.root(
        rx.menu.trigger(rx.button(rx.icon("download", size=14), tr("export"), variant="soft", size="2", id="export-menu")),
        rx.menu.content(
            rx.menu.item(tr("export.csv"), on_select=ListState.export("csv"), id="export-csv"),
            rx.menu.item(tr("export.xlsx"), on_select=ListState.export("xlsx"), id="export-xlsx"),
        ),
    )
    header_right = [
        rx.debounce_input(rx.input(rx.input.slot(rx.icon("search", size=14)), value=ListState.search, on_change=ListState.set_search, placeholder=tr("search"), width=rx.breakpoints(initial="100%", sm="16em"), id="list-search"), debounce_timeout=SEARCH_DEBOUNCE_MS),
        _columns_menu(res),
        export_menu,
    ]
    if res.has_soft_delete():
        header_right.append(rx.button(rx.icon("trash-2", size=14), tr("trash"), variant=rx.cond(ListState.trash, "solid", "soft"), color_scheme="gray", on_click=ListState.toggle_trash, size="2", id="trash-toggle"))
    if "create" in res.operations:
        header_right.append(rx.cond(ListState.can_create, rx.link(rx.button(rx.icon("upload", size=14), tr("import.button"), variant="soft", size="2"), href=res.import_url or f"{res.url()}/import", id="import-link")))
        header_right.append(rx.cond(ListState.can_create, rx.link(rx.button(rx.icon("plus", size=14), tr("create"), size="2"), href=f"{res.url()}/new", id="create-link")))
    body = rx.vstack(
        page_header(resource_label(res.key()), *header_right),
        rx.cond(
            len(res.filters) > 0,
            rx.hstack(*[_filter_control(res, f) for f in res.filters], rx.button(tr("filters.reset"), variant="ghost", size="1", on_click=ListState.reset_filters), wrap="wrap", spacing="3", align="end"),
        ) if res.filters else rx.fragment(),
        _bulk_bar(res),
        rx.cond(ListState.error != "", rx.callout(ListState.error, color_scheme="red", icon="triangle-alert")),
        rx.box(table, width="100%", overflow_x="auto"),
        rx.cond(ListState.rows.length() == 0, rx.center(rx.text(tr("rows.empty"), color_scheme="gray"), padding="2em", width="100%")),
        pager,
        confirm_dialog(ListState.confirm_open, ListState.confirm_text, ListState.run_pending, ListState.cancel_confirm, action_params(ListState)),
        rx.el.button(id="list-follow-url", on_click=ListState.follow_url, type="button", style={"display": "none"}, aria_hidden="true"),
        spacing="3", width="100%",
    )
    return rx.cond(ListState.forbidden, forbidden_box(), body)


def _color(spec) -> dict:
    """``color_scheme`` only when the action names one (else the theme's accent colour)."""
    return {"color_scheme": spec.color} if spec.color else {}
