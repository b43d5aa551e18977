"""Every label and title the UI shows comes from the catalogue, in both languages: no raw i18n key
("telegram.title", "already_in_base") and no field name humanised by the fallback ("Project id",
"File mask") on any resource's list, filters, form, detail page, actions, menu or page title."""

from __future__ import annotations

import re

import pytest

from app.core.display import declared_label, label_for
from app.core.i18n import has, t
from app.boot import boot
from app.core.registry import PANELS, RESOURCES

KEY = re.compile(r"[a-z][a-z0-9_]*(\.[a-z0-9_]+)+")


def _raw(text: str) -> bool:
    return bool(KEY.fullmatch(text))


def _resources():
    boot()
    return sorted(RESOURCES.items())


def _names(res) -> list[tuple[str, str | None]]:
    from app.core.ui.detail import detail_names

    out = [(c.name, c.label) for c in res.columns] + [(f.name, f.label) for f in res.filters]
    if res.operations & {"create", "update"}:
        out += [(f.name, f.label) for f in res.form_fields() if not f.virtual and f.kind != "hidden"]
    out += [(n, None) for n in detail_names(res)]
    return out


@pytest.mark.parametrize("key,res", _resources(), ids=lambda v: v if isinstance(v, str) else "")
@pytest.mark.parametrize("lang", ["ru", "en"])
def test_every_field_label_of_a_resource_is_translated(key, res, lang):
    bad = []
    for name, explicit in _names(res):
        source = explicit or declared_label(res, name)
        if source is None and not has(f"field.{name}"):  # the fallback: the name humanised ("Project id")
            bad.append(f"{name}: {label_for(res, name, explicit, lang)!r}")
        elif _raw(label_for(res, name, explicit, lang)):
            bad.append(f"{name}: raw key {source!r}")
    for name, spec in res.actions.items():
        if _raw(t(spec.label, lang)):
            bad.append(f"action {name}: {spec.label!r}")
    for text in (res.label, res.label_one):
        if text and _raw(t(text, lang)):
            bad.append(f"label {text!r}")
    assert not bad, f"{key}: untranslated labels: {bad}"


def test_panels_pages_and_titles_are_translated():
    from app.core.ui.pages import page_title

    boot()
    bad = []
    for panel in PANELS.values():
        for lang in ("ru", "en"):
            if _raw(t(panel.label, lang)):
                bad.append(f"panel {panel.label}")
            for page in panel.pages:
                if _raw(t(page.title, lang)):
                    bad.append(f"page {page.route}: {page.title}")
        for page in panel.pages:
            if _raw(page_title(page.title).split(" — ", 1)[1]):
                bad.append(f"title {page.route}")
        for res in panel.resources:
            if _raw(page_title(res.label or res.slug).split(" — ", 1)[1]):
                bad.append(f"title {res.key()}")
    assert not bad, bad
    assert page_title("telegram.title") == "Пульт — " + t("telegram.title", "ru") != "Пульт — telegram.title"


def test_audit_and_job_codes_have_labels():
    """The audit log's objects and actions and the job list's kinds show names, not codes
    ("numbers.numbers", "set_status", "kit.action"); its filters offer the same names."""
    from app.core.jobs import KINDS
    from app.core.ui.list_state import option_label

    boot()
    missing = [f"entity.{k}" for k in RESOURCES if not has(f"entity.{k}")]
    missing += [f"action.{n}" for r in RESOURCES.values() for n in r.actions if not has(f"action.{n}")]
    # the app's kinds; the suite's own (tests/jobs/jobkinds.py) may be registered by then too
    missing += [f"jobkind.{k}" for k, spec in KINDS.items() if spec.fn.__module__.startswith("app.") and not has(f"jobkind.{k}")]
    missing += [f"entity.{p}" for p in PANELS if not has(f"entity.{p}")]
    missing += [k for k in ("action.job.enqueue", "entity.job_run", "entity.User") if not has(k)]
    assert not missing, missing
    audit, jobs = RESOURCES["admin.audit"](), RESOURCES["admin.jobs"]()
    assert option_label(audit, "action", "set_status", "ru") == "Сменить статус"
    assert option_label(audit, "entity_type", "numbers.numbers", "en") == "Number"
    assert option_label(jobs, "kind", "kit.action", "ru") == "Массовое действие"
    assert option_label(audit, "username", "admin", "ru") == "admin"  # no choices: as stored


# The fixture panel (tests/kitpanel) is registered only for the modules that ask for it, so the
# checks above, parametrized at collection, never see it; it is held to the same bar here. Last in
# the module: once set up, it stays registered until the module ends.
@pytest.mark.parametrize("lang", ["ru", "en"])
def test_the_fixture_panels_labels_are_translated_too(kitpanel, lang):
    own = sorted((k, r) for k, r in RESOURCES.items() if k.startswith(f"{kitpanel.NAME}."))
    assert [k for k, _r in own] == ["kitpanel.deliveries", "kitpanel.items", "kitpanel.orders", "kitpanel.tags"]
    for key, res in own:
        test_every_field_label_of_a_resource_is_translated(key, res, lang)
    assert not _raw(t(kitpanel.PANEL.label, lang))
