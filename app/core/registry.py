"""Panels and the resources they register: a store the kit reads. It imports nothing above it.

Two phases, like Django's app registry and its system checks: :func:`register` stores a panel
(each resource checked on its own), and once every panel is in, :func:`check` checks what points
across them (a filter, a field or a relation column naming another resource) and derives labels. :mod:`app.boot`,
the composition root, imports the panels and calls :func:`check`; registration order never matters.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from app.core import i18n
from app.core.kinds import base as kinds_base
from app.core.resource import ImproperlyConfigured, Resource, check_resource


@dataclass
class Page:
    """A custom page of a panel: route, i18n title, component factory, permission. A declared page
    kind (:class:`app.core.report.Report`, :class:`~app.core.report.Dashboard`) is a ``Page`` too.

    ``component`` and ``on_load`` are best given as references, ``"app.panels.numbers.pages:transfer_page"``
    and ``"app.panels.numbers.pages:TransferState.load"``: the web process resolves them when it builds
    the pages, so a worker that boots the same panels never imports their UI (Reflex)."""

    route: str
    title: str
    component: Callable | str
    perm: str | None = None
    icon: str = "layout-dashboard"
    on_load: object | str | None = None
    menu: bool = True


@dataclass
class Panel:
    name: str
    label: str
    resources: list[type[Resource]] = field(default_factory=list)
    pages: list[Page] = field(default_factory=list)
    #: The panel's own roles: short name -> (i18n label key, permissions). Stored namespaced as
    #: ``<panel>.<name>`` (``stock.manager``), so two panels' "manager" are two roles; only the
    #: kit's ``admin`` panel names its roles as they are (``admin``). See :func:`role_name`.
    roles: dict[str, tuple[str, list[str]]] = field(default_factory=dict)
    catalog: dict[str, tuple[str, str]] = field(default_factory=dict)
    #: Events the panel raises: event kind -> (i18n label, roles notified in-app by default; a
    #: short name is this panel's role, ``admin`` the kit's).
    events: dict[str, tuple[str, list[str]]] = field(default_factory=dict)
    #: Extra permissions that are not resource operations (e.g. ``stock.analytics.view``).
    permissions: list[str] = field(default_factory=list)
    api_router: object | None = None
    #: Routers mounted at the API root as they are (absolute paths), for outside systems that call
    #: a fixed address: vendors' webhooks under ``/api/integrations/<vendor>/...``.
    root_routers: list[object] = field(default_factory=list)
    #: Components rendered on every page of the shell (live pop-ups such as an incoming-call card):
    #: factories ``() -> rx.Component`` or references to them (``"module:function"``, see :class:`Page`),
    #: usually a fixed-position box with its own state.
    overlays: list[Callable | str] = field(default_factory=list)
    #: Also serve this panel's API without the ``/<panel>`` segment (``/api/products``); one panel at most.
    api_unprefixed: bool = False
    icon: str = "layout-grid"


PANELS: dict[str, Panel] = {}
RESOURCES: dict[str, type[Resource]] = {}


def _resource_model(key: str) -> type | None:
    res = RESOURCES.get(key)
    return res.model if res is not None else None


# A relation field reads its target's key type through this (the kinds sit below the registry).
kinds_base.resource_model = _resource_model


def register(panel: Panel) -> Panel:
    """Add a panel: label its resources, merge its catalog and check each resource on its own.
    References across resources are checked by :func:`check`, once everything is registered."""
    if panel.name in PANELS:
        return PANELS[panel.name]
    if panel.api_unprefixed and any(p.api_unprefixed for p in PANELS.values()):
        raise ImproperlyConfigured(f"{panel.name}: only one panel can serve its API without the panel prefix")
    i18n.register(panel.catalog)
    for res in panel.resources:
        res.panel = panel.name
        check_resource(res)
        if res.key() in RESOURCES:
            raise ImproperlyConfigured(f"{res.key()}: registered twice")
        RESOURCES[res.key()] = res
    PANELS[panel.name] = panel
    return panel


def check() -> list[Panel]:
    """The second phase: every reference across resources names a registered one; labels for
    the codes the audit log and the job list store. Raises :class:`ImproperlyConfigured`."""
    for panel in PANELS.values():
        for res in panel.resources:
            for f in res.filters:
                if f.resource and f.resource not in RESOURCES:
                    raise ImproperlyConfigured(f"{panel.name}.{res.__name__}: filter '{f.name}' points at unknown resource '{f.resource}'")
            for c in res.columns:
                if c.resource is not None and c.resource not in RESOURCES:
                    raise ImproperlyConfigured(f"{panel.name}.{res.__name__}: relation column '{c.name}' points at unknown resource '{c.resource}'")
            for ff in res.form_fields():
                if ff.resource and ff.resource not in RESOURCES:
                    raise ImproperlyConfigured(f"{panel.name}.{res.__name__}: field '{ff.name}' points at unknown resource '{ff.resource}'")
    derive_labels()
    return list(PANELS.values())


def derive_labels() -> None:
    """Labels for codes the audit log and job list store, from what the declarations already
    name: ``entity.<resource key or panel>`` (the resource's or panel's label), ``action.<name>``
    (a resource action's label) and ``jobkind.<kind>`` (a job kind's label). An entry a catalogue
    defines itself wins."""
    from app.core import i18n

    def add(key: str, label: str | None) -> None:
        if label and key not in i18n.CATALOG:
            i18n.CATALOG[key] = i18n.pair(label)

    for panel in PANELS.values():
        add(f"entity.{panel.name}", panel.label)
    for key, res in RESOURCES.items():
        add(f"entity.{key}", res.label_one or res.label)
        for name, spec in res.actions.items():
            add(f"action.{name}", spec.label)
    jobs = sys.modules.get("app.core.jobs")
    for kind, spec in (getattr(jobs, "KINDS", None) or {}).items():
        add(f"jobkind.{kind}", getattr(spec, "label", None))


def import_ref(ref: object) -> Any:
    """What a ``"package.module:attr.attr"`` reference names (anything else is returned as it is):
    how the UI reaches a panel's page components without the panel importing them at boot."""
    if not isinstance(ref, str):
        return ref
    module, _, path = ref.partition(":")
    if not path:
        raise ImproperlyConfigured(f"{ref!r} is not a 'module:attribute' reference")
    value: Any = importlib.import_module(module)
    for part in path.split("."):
        value = getattr(value, part)
    return value


def resource(key: str) -> type[Resource]:
    try:
        return RESOURCES[key]
    except KeyError:
        raise KeyError(f"unknown resource {key!r}") from None


def all_permissions() -> list[str]:
    perms: list[str] = []
    for panel in PANELS.values():
        for res in panel.resources:
            perms.extend(res.permissions())
        perms.extend(panel.permissions)
    return sorted(set(perms))


#: How an operation reads in the role editor (``perm.op.<operation>``); an action reads as its label.
OPERATIONS = ("view", "create", "update", "delete")


def permission_groups() -> list[tuple[tuple[str, ...], list[tuple[str, str]]]]:
    """Every permission under a readable heading, for the role editor: per panel its wildcard
    ("all of the panel"), then each resource's operations and actions, then the panel's other
    permissions. ``[((panel label, resource label), [(permission, i18n key), ...]), ...]``;
    labels are i18n keys (``perm.op.view``, an action's label, ``perm.<permission>``)."""
    groups: list[tuple[tuple[str, ...], list[tuple[str, str]]]] = []
    for panel in PANELS.values():
        head = [(f"{panel.name}.*", "perm.panel_all")]
        groups.append(((panel.label,), head))
        for res in panel.resources:
            items = [(res.perm(op), f"perm.op.{op}") for op in OPERATIONS if op in res.operations]
            items += [(res.perm(name), spec.label) for name, spec in res.actions.items() if name not in res.machine_actions]
            # a machine's transitions share their permissions ("may change the condition"): each once
            items += [(p, f"perm.{p}") for p in dict.fromkeys(res.action_perm(n) for n in res.machine_actions) if p]
            items += [(res.perm(op), f"perm.op.{op}") for op in res.block_operations()]
            if items:
                groups.append(((panel.label, res.label or res.slug), items))
        if panel.permissions:
            groups.append(((panel.label, "perm.other"), [(p, f"perm.{p}") for p in panel.permissions]))
    return groups


def all_events() -> dict[str, tuple[str, list[str]]]:
    """Every declared event with its default audience as stored role names."""
    events: dict[str, tuple[str, list[str]]] = {}
    for panel in PANELS.values():
        for kind, (label, roles) in panel.events.items():
            events[kind] = (label, [r if r == "admin" or r not in panel.roles else role_name(panel.name, r) for r in roles])
    return events


#: The panel whose roles are the kit's own and keep their bare names (``admin``).
KIT_PANEL = "admin"


def role_name(panel: str, short: str) -> str:
    """The stored name of a panel's role: ``stock`` + ``manager`` → ``stock.manager``."""
    return short if panel == KIT_PANEL else f"{panel}.{short}"


def role_panel(name: str) -> str | None:
    """Which panel a stored role belongs to: ``stock.manager`` → ``stock``, ``admin`` → ``admin``;
    ``None`` for a role an admin made without a panel prefix (it may be combined freely)."""
    if name in PANELS.get(KIT_PANEL, Panel(KIT_PANEL, "")).roles:
        return KIT_PANEL
    head, dot, _ = name.partition(".")
    return head if dot and head in PANELS else None


def all_roles() -> dict[str, tuple[str, list[str]]]:
    """The built-in roles by stored name. Each is one panel's own: a role never mixes in another
    panel's permissions because both happen to call a role "manager"."""
    roles: dict[str, tuple[str, list[str]]] = {}
    for panel in PANELS.values():
        for short, (label, perms) in panel.roles.items():
            roles[role_name(panel.name, short)] = (label, sorted(set(perms)))
    return roles
