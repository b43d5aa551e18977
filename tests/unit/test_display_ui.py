"""How values and hints read on the generated pages (issue 8): phones in lists as on the
softphone card, ids and ports without thousands grouping, percentages with a Russian comma, and
the password field's hint only where leaving it empty keeps the password."""

from __future__ import annotations

import reflex as rx

from app.core.display import display_kind, fmt_percent, fmt_value
from app.boot import boot
from app.core.registry import resource


def test_phones_in_lists_read_as_on_the_card(db, users):
    from app.core.ui.list_state import row_dict
    from app.core.kinds.phone import format_phone
    from models.numbers import PhoneNumber

    boot()
    res = resource("numbers.numbers")()
    number = PhoneNumber(id=1, phone="+79991234567", status_id=1)
    row = row_dict(res, users["admin"], number, "ru")
    phone_col = next(j for j, c in enumerate(res.columns) if c.name == "phone")
    assert row[f"c{phone_col}"] == format_phone("+79991234567") == "+7 999 123-45-67"
    assert fmt_value("12345", "ru", "phone") == "12345"  # not a number: as stored


def test_ids_and_ports_are_not_grouped():
    boot()
    port = next(c for c in resource("numbers.sftp").columns if c.name == "port")
    assert fmt_value(2299, "ru", port.kind) == "2299"
    assert fmt_value(123456, "ru", display_kind("id", "text")) == "123456"
    assert fmt_value(123456, "ru", display_kind("project_id", "text")) == "123456"
    assert fmt_value(123456, "ru", display_kind("stock", "numeric")) == "123\u00a0456"  # quantities still grouped


def test_percentages_use_the_comma_in_russian():
    assert fmt_percent(0.125, "ru") == "12,5\u00a0%"
    assert fmt_percent(0.125, "en") == "12.5%"


def _rendered(component: rx.Component) -> str:
    return str(component.render())


def test_the_password_hint_shows_on_edit_only_and_new_accounts_mark_it_required():
    from app.core.i18n import t
    from app.core.ui.form import field_marks, form_field

    boot()
    users = resource("admin.users")
    password = next(f for f in users.form_fields() if f.name == "password")
    hint = t("users.password_help", "en")  # ASCII: the rendered tree escapes the Russian one
    new, edit = _rendered(form_field(users, password, editing=False)), _rendered(form_field(users, password, editing=True))
    assert hint not in new and hint in edit
    assert field_marks(users, password, editing=False) == (True, False)
    assert field_marks(users, password, editing=True) == (False, True)


def test_an_error_toast_is_replaced_by_the_next_and_dismissed_by_a_success():
    from app.core.errors import ValidationFailed
    from app.core.ui.base import ERROR_TOAST, AuthState

    state = rx.State(_reflex_internal_init=True).substates[AuthState.get_name()]
    error = repr(state.fail(ValidationFailed.one("", "error.form")))
    assert f'["id"] : "{ERROR_TOAST}"' in error  # one id: a second error replaces the first
    ok = repr(state.ok("Сохранено"))
    assert f"dismiss('{ERROR_TOAST}')" in ok and '"success"' in ok


def test_conversion_rates_use_the_comma_in_russian():
    from app.core.report import fmt

    assert fmt(1 / 8, "percent", "ru") == "12,5\u00a0%" and fmt(1 / 8, "percent", "en") == "12.5%" and fmt(None, "percent", "ru") == "—"


def test_detail_pages_name_related_records_and_jobs(db, users):
    from app.core.ui.detail import fk_targets, related_title
    from models.jobs import JobRun
    from models.numbers import Project

    boot()
    assert fk_targets(resource("numbers.transfers"))["project_id"] == "numbers.projects"
    project = Project(name="Проект для карточки")
    db.add(project)
    db.commit()
    assert related_title(db, users["admin"], "numbers.projects", project.id) == "Проект для карточки"
    assert related_title(db, users["admin"], "numbers.projects", 999_999) == "999999"  # gone: the id
    assert resource("admin.jobs")().title(JobRun(id=6, kind="kit.export")) == "Экспорт #6"
