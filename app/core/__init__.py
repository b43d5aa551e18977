"""The kit's public face: what a panel author imports.

A panel imports from here (and the UI from :mod:`app.core.ui`), never from the kit's internal
modules, so the kit can move its insides without breaking a panel::

    from app.core import Panel, Page, Resource, action, col, fields, filters, register

A few service modules are public too and are imported as namespaces, because their functions
read best qualified (``audit.record(...)``, ``bus.mark(...)``): :mod:`~app.core.audit`,
:mod:`~app.core.bus`, :mod:`~app.core.notify`, :mod:`~app.core.errors`, :mod:`~app.core.i18n`,
:mod:`~app.core.display`, :mod:`~app.core.inputs`,
:mod:`~app.core.safe_cells`, :mod:`~app.core.jobs`, :mod:`~app.core.live` and :mod:`~app.core.comments`. Everything else under
``app/core`` is the kit's own: the ``panels-use-the-public-face`` contract in ``.importlinter``
refuses a panel that imports it (the built-in ``admin`` and ``telegram`` panels are part of the
kit and may).

The names load when first used (PEP 562), so ``import app.core`` stays cheap and pulls in neither
FastAPI nor the database until a panel asks for them; a worker never loads Reflex through here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.core.lazy import lazy_names

#: Public name -> "module:attribute" it comes from.
_FACE: dict[str, str] = {
    # Declaring a panel and its resources (docs/tutorial.md)
    "Panel": "app.core.registry:Panel",
    "Page": "app.core.registry:Page",
    "register": "app.core.registry:register",
    "get_resource": "app.core.registry:resource",
    "Resource": "app.core.resource:Resource",
    "ActionContext": "app.core.resource:ActionContext",
    "ExportContext": "app.core.resource:ExportContext",  # what before_export/after_export get
    "FormField": "app.core.resource:FormField",
    "Choices": "app.core.resource:Choices",
    "ImproperlyConfigured": "app.core.resource:ImproperlyConfigured",
    "action": "app.core.resource:action",
    "col": "app.core.resource:col",
    "fields": "app.core.resource:fields",
    "filters": "app.core.resource:filters",
    # Page kinds: a report (page + JSON/CSV twin) and a live dashboard (docs/architecture.md, "Page kinds")
    "Report": "app.core.report:Report",
    "ReportResult": "app.core.report:ReportResult",
    "Dashboard": "app.core.report:Dashboard",
    "blocks": "app.core.report:blocks",
    # Status fields as declared state machines (docs/architecture.md, "State machines")
    "Machine": "app.core.machine:Machine",
    "Transition": "app.core.machine:Transition",
    "IllegalTransition": "app.core.machine:IllegalTransition",
    # Blocks under a record on its detail page (docs/blocks.md): ``detail_blocks = [timeline(...), comment_wall()]``
    "timeline": "app.core.record_timeline:timeline",
    "TimelineEvent": "app.core.record_timeline:TimelineEvent",
    "comment_wall": "app.core.comments:comment_wall",
    # Who is asking
    "CurrentUser": "app.core.principal:CurrentUser",
    "SYSTEM": "app.core.principal:SYSTEM",
    # Errors a service raises (the UI shows them by the field, the API as 4xx)
    "PultError": "app.core.errors:PultError",
    "ValidationFailed": "app.core.errors:ValidationFailed",
    "PermissionDenied": "app.core.errors:PermissionDenied",
    "NotFound": "app.core.errors:NotFound",
    "NotAuthenticated": "app.core.errors:NotAuthenticated",
    # Records through a resource: permission, scope and audit included
    "ListParams": "app.core.query:ListParams",
    "visible_query": "app.core.query:base_query",
    "resolve_sort": "app.core.query:resolve_sort",
    "sorted_query": "app.core.query:sorted_query",
    "title_join": "app.core.query:title_join",
    "get_many": "app.core.query:get_many",
    "get_record": "app.core.crud:get_record",
    "list_records": "app.core.crud:list_records",
    "create_record": "app.core.crud:create_record",
    "update_record": "app.core.crud:update_record",
    "delete_record": "app.core.crud:delete_record",
    "run_action": "app.core.crud:run_action",
    "search_options": "app.core.crud:search_options",
    # What a fields.many / fields.rows field holds for a user, for a panel's own pages and services
    # (docs/architecture.md, "Forms"): {owner: [(id, title)]} / {owner: [child records]}, scoped
    "shown_links": "app.core.links:shown",
    "child_rows": "app.core.rows:children",
    # Sessions and the cache
    "session_scope": "app.core.db:session_scope",
    "engine": "app.core.db:engine",
    "redis_client": "app.core.redis:redis_client",
    # Secrets at rest
    "encrypt": "app.core.crypto:encrypt",
    "decrypt": "app.core.crypto:decrypt",
    "MASK": "app.core.crypto:MASK",
    # Notification channels (notify itself: ``from app.core.notify import notify``)
    "Channel": "app.core.notify:Channel",
    "register_channel": "app.core.notify:register_channel",
    # Sign-in methods (docs/architecture.md, "Sign-in methods")
    "LoginMethod": "app.core.login_methods:LoginMethod",
    "LoginField": "app.core.login_methods:LoginField",
    "LoginRequest": "app.core.login_methods:LoginRequest",
    "LoginChallenge": "app.core.login_methods:Challenge",
    "LoginStep": "app.core.login_methods:Step",
    "SignedIn": "app.core.login_methods:SignedIn",
    "Pending": "app.core.login_methods:Pending",
    "SecondFactor": "app.core.login_methods:SecondFactor",
    "register_login_method": "app.core.login_methods:register_method",
    "register_second_factor": "app.core.login_methods:register_factor",
    # Background jobs
    "job_kind": "app.core.jobs:job_kind",
    "enqueue": "app.core.jobs:enqueue",
    "JobContext": "app.core.jobs:JobContext",
    "JobFailed": "app.core.jobs:JobFailed",
    "JobCancelled": "app.core.jobs:JobCancelled",
    "on_run_end": "app.core.jobs:on_run_end",
    "cron_timezone": "app.core.jobs:cron_timezone",
    "next_fire": "app.core.jobs:next_fire",
    # A schedule owned by a record (an SFTP host's pulls): created/changed/disabled with it
    "ensure_schedule": "app.core.jobs:ensure_schedule",
    "drop_owned_schedule": "app.core.jobs:drop_owned_schedule",
    "told_to_user": "app.core.kit_jobs:told_to_user",
    # Files: uploads, tables read from them, exports written by COPY
    "save_upload": "app.core.importer:save_upload",
    "upload_path": "app.core.importer:upload_path",
    "MAX_UPLOAD_BYTES": "app.core.importer:MAX_UPLOAD_BYTES",
    # Bulk import as a declaration (a resource's ``bulk_import = BulkImport(...)``, docs/architecture.md)
    "BulkImport": "app.core.bulk_import:BulkImport",
    "BulkRun": "app.core.bulk_import:BulkRun",
    "read_column": "app.core.bulk_import:read_column",
    "check_bulk_file": "app.core.bulk_import:check_file",
    "run_bulk_file": "app.core.bulk_import:run_file",
    "start_bulk_import": "app.core.bulk_import:start",
    "open_bulk_log": "app.core.bulk_import:open_log",
    "bulk_import_endpoint": "app.core.api:bulk_import_endpoint",
    "read_table": "app.core.tabular:records",
    "SQL_DATESTYLE": "app.core.exporter:SQL_DATESTYLE",
    # Field kinds (docs/architecture.md, "Field kinds"), and the phone kind's helpers
    "Kind": "app.core.kinds:Kind",
    "register_kind": "app.core.kinds:register_kind",
    "kind_named": "app.core.kinds:kind_named",
    "normalise_phone": "app.core.kinds.phone:normalise_phone",
    "format_phone": "app.core.kinds.phone:format_phone",
    # The Settings page kind (docs/architecture.md, "Page kinds: Settings")
    "Settings": "app.core.settings_page:Settings",
    "SettingsAction": "app.core.settings_page:SettingsAction",
    "SettingsContext": "app.core.settings_page:SettingsContext",
    "CheckResult": "app.core.settings_page:CheckResult",
    "Status": "app.core.settings_page:Status",
    "StatusLine": "app.core.settings_page:Line",
    "Block": "app.core.settings_page:Block",
    # A panel's own API routes (FastAPI dependencies and response shapes)
    "current_user": "app.core.api_base:current_user",
    "get_db": "app.core.api_base:get_db",
    "request_lang": "app.core.api_base:request_lang",
    "request_ip": "app.core.http_security:request_ip",
    "jsonable": "app.core.api_base:jsonable",
    "item_json": "app.core.api_base:item_json",
    "ERRORS": "app.core.api_base:ERRORS",
    "INVALID": "app.core.api_base:INVALID",
    "NOT_FOUND": "app.core.api_base:NOT_FOUND",
}

__all__ = sorted(_FACE)


__getattr__, __dir__ = lazy_names(__name__, globals(), _FACE)


# A face name must never be a submodule's name too: ``from app.core import notify`` inside the kit
# means the module (tests/unit/test_public_face.py checks it).

if TYPE_CHECKING:  # for editors and type checkers; at run time the names load on first use
    from app.core.api import bulk_import_endpoint  # noqa: F401
    from app.core.api_base import ERRORS, INVALID, NOT_FOUND, current_user, get_db, item_json, jsonable, request_lang  # noqa: F401
    from app.core.comments import comment_wall  # noqa: F401
    from app.core.record_timeline import TimelineEvent, timeline  # noqa: F401
    from app.core.crud import create_record, delete_record, get_record, list_records, run_action, search_options, update_record  # noqa: F401
    from app.core.crypto import MASK, decrypt, encrypt  # noqa: F401
    from app.core.db import engine, session_scope  # noqa: F401
    from app.core.errors import NotAuthenticated, NotFound, PermissionDenied, PultError, ValidationFailed  # noqa: F401
    from app.core.exporter import SQL_DATESTYLE  # noqa: F401
    from app.core.http_security import request_ip  # noqa: F401
    from app.core.importer import MAX_UPLOAD_BYTES, save_upload, upload_path  # noqa: F401
    from app.core.bulk_import import BulkImport, BulkRun, read_column  # noqa: F401
    from app.core.bulk_import import open_log as open_bulk_log  # noqa: F401
    from app.core.bulk_import import check_file as check_bulk_file, run_file as run_bulk_file, start as start_bulk_import  # noqa: F401
    from app.core.jobs import JobCancelled, JobContext, JobFailed, cron_timezone, drop_owned_schedule, enqueue, ensure_schedule, job_kind, next_fire, on_run_end  # noqa: F401
    from app.core.kit_jobs import told_to_user  # noqa: F401
    from app.core.login_methods import Challenge as LoginChallenge  # noqa: F401
    from app.core.login_methods import LoginField, LoginMethod, LoginRequest, Pending, SecondFactor, SignedIn  # noqa: F401
    from app.core.login_methods import Step as LoginStep  # noqa: F401
    from app.core.login_methods import register_factor as register_second_factor  # noqa: F401
    from app.core.login_methods import register_method as register_login_method  # noqa: F401
    from app.core.notify import Channel, register_channel  # noqa: F401
    from app.core.kinds import Kind, kind_named, register_kind  # noqa: F401
    from app.core.links import shown as shown_links  # noqa: F401
    from app.core.rows import children as child_rows  # noqa: F401
    from app.core.kinds.phone import format_phone, normalise_phone  # noqa: F401
    from app.core.machine import IllegalTransition, Machine, Transition  # noqa: F401
    from app.core.principal import SYSTEM, CurrentUser  # noqa: F401
    from app.core.query import ListParams, get_many, resolve_sort, sorted_query, title_join  # noqa: F401
    from app.core.query import base_query as visible_query  # noqa: F401
    from app.core.redis import redis_client  # noqa: F401
    from app.core.registry import Page, Panel, register  # noqa: F401
    from app.core.registry import resource as get_resource  # noqa: F401
    from app.core.report import Dashboard, Report, ReportResult, blocks  # noqa: F401
    from app.core.resource import ActionContext, Choices, ExportContext, FormField, ImproperlyConfigured, Resource, action, col, fields, filters  # noqa: F401
    from app.core.settings_page import Block, CheckResult, Settings, SettingsAction, SettingsContext, Status  # noqa: F401
    from app.core.settings_page import Line as StatusLine  # noqa: F401
    from app.core.tabular import records as read_table  # noqa: F401
