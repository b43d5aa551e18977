"""Numbers panel resources (seed 004): numbers, projects, deleted projects, providers, geo,
statuses, schedules, call history, transfers, SFTP hosts and managers' scopes."""

from __future__ import annotations

import datetime as dt
from typing import Any

from app.core import ActionContext, BulkImport, CurrentUser, bus, FormField, Resource, action, col, fields, filters, kind_named
from app.core.errors import ValidationFailed
from app.panels.numbers import scope, services, transfers
from app.panels.numbers.routes import IMPORT
from models.numbers import (
    CallEvent,
    Geo,
    ManagerScope,
    NumberStatus,
    NumberTransfer,
    PhoneNumber,
    Project,
    ProjectGeo,
    ProjectProvider,
    ProjectSchedule,
    Provider,
    SftpHost,
    StatusKind,
)

WEEKDAYS = [(str(i), f"numbers.weekday.{i}") for i in range(7)]


def _status_color(record: Any) -> str | None:
    return services.names("status_color").get(record.status_id) or "gray"


class Numbers(Resource, model=PhoneNumber):
    label, label_one, icon = "numbers.numbers", "numbers.number", "phone"
    search = ["phone"]
    default_sort = "-id"
    page_size = 50
    import_url = IMPORT  # the declared bulk import below, not the row-by-row kit import
    #: Millions of numbers per file: E.164 in one vectorised call, then COPY (transfers.load_numbers);
    #: the kit gives the page, the API route, the job and the SFTP hosts' path (docs/architecture.md).
    bulk_import = BulkImport(
        key="phone", headers=transfers.PHONE_HEADERS, normalise=kind_named("phone").parse_many,
        params=(fields.relation("project_id", "numbers.projects", label="numbers.project", required=False),
                fields.relation("provider_id", "numbers.providers", label="numbers.provider", required=False),
                fields.relation("geo_id", "numbers.geo", label="numbers.geo", required=False)),
        check=transfers.check_import, run=transfers.load_numbers,
        log=NumberTransfer, log_values={"direction": "import"}, log_arg="transfer_id",
        sources=("upload", "sftp"), job="numbers.import", perm="numbers.import", url=IMPORT,
        steps=("read", "normalise", "dedupe", "write", "report"), step_prefix="numbers.step", label="numbers.job.import",
        title="numbers.import.title", help="numbers.import.help", done="numbers.import_done", report="numbers.import.report",
        drop="numbers.import.drop", hint="numbers.import.export_hint",
        link="/numbers/transfers",
    )
    columns = [
        col("phone").phone().sortable().link(),
        col("status_id", "numbers.status").relation("numbers.statuses").badge(_status_color),
        col("project_id", "numbers.project").relation("numbers.projects"),
        col("provider_id", "numbers.provider").relation("numbers.providers"),
        col("geo_id", "numbers.geo").relation("numbers.geo"),
        col("created_at").datetime().sortable(),
        col("status_changed_at", "numbers.status_changed_at").datetime().sortable().hide(),
        col("last_call_at", "numbers.last_call_at").datetime().hide(),
        col("id").sortable().hide(),
    ]
    filters = [
        filters.relation("project_id", "numbers.projects", "numbers.project"),
        filters.relation("provider_id", "numbers.providers", "numbers.provider"),
        filters.relation("geo_id", "numbers.geo", "numbers.geo"),
        filters.relation("status_id", "numbers.statuses", "numbers.status"),
        filters.date("created_at"),
        filters.date("status_changed_at", "numbers.status_changed_at"),
    ]
    form = [
        fields.section("numbers.section.number", [
            fields.phone("phone", create_only=True),
            fields.relation("status_id", "numbers.statuses", label="numbers.status", required=False, help="numbers.status_help"),
            fields.relation("project_id", "numbers.projects", label="numbers.project"),
            fields.relation("provider_id", "numbers.providers", label="numbers.provider"),
            fields.relation("geo_id", "numbers.geo", label="numbers.geo"),
        ]),
    ]
    detail_fields = ["phone", "status_id", "project_id", "provider_id", "geo_id", "created_at", "status_changed_at", "last_call_at"]
    related = [("numbers.calls", "numbers.calls", "number_id")]

    def list_query(self, user: CurrentUser, stmt: Any) -> Any:
        return stmt.where(scope.provider_clause(user, PhoneNumber.provider_id))

    def validate(self, ctx: ActionContext, values: dict[str, Any], record: Any | None) -> dict[str, tuple[str, dict]]:
        errors: dict[str, tuple[str, dict]] = {}
        provider = values.get("provider_id", getattr(record, "provider_id", None))
        if not scope.sees_all(ctx.user) and provider is None:
            errors["provider_id"] = ("error.required", {})  # a manager's number must stay in their scope
        return errors

    def before_save(self, ctx: ActionContext, record: Any, changes: dict[str, Any], creating: bool) -> None:
        if record.status_id is None:
            record.status_id = services.default_status_id(ctx.db)
        if not creating and "status_id" in changes and changes["status_id"] is not None:
            record.status_changed_at = dt.datetime.now(dt.timezone.utc)

    def title(self, record: Any) -> str:
        return record.phone

    @action("numbers.set_status", bulk=True, row=True, job=True, confirm=True, many="set_status_many",
            params=[fields.relation("status_id", "numbers.statuses", label="numbers.new_status", required=True)])
    def set_status(self, ctx: ActionContext, records: list[PhoneNumber]) -> str:
        status_id = ctx.params["status_id"]
        now = dt.datetime.now(dt.timezone.utc)
        for number in records:
            if number.status_id != status_id:
                number.status_id, number.status_changed_at = status_id, now
        return "numbers.status_set"

    def export_csv(self, db: Any, user: CurrentUser, params: Any, path: Any, lang: str = "ru") -> int:
        """The list's CSV export (kit.export) goes through COPY, at the cost of a bare COPY."""
        from app.panels.numbers import transfers

        return transfers.export_numbers(db, user, params, path, lang)

    def before_export(self, ctx: Any, params: Any) -> int:
        """Every export of the list (CSV or XLSX) is logged as a transfer, open while it writes."""
        from app.panels.numbers import transfers

        return transfers.start_transfer(ctx.db, ctx.user, "export", "file", ctx.path.name, job_run_id=ctx.run.id).id

    def after_export(self, ctx: Any, run: Any, path: Any) -> None:
        row = ctx.db.get(NumberTransfer, ctx.state)
        row.total = row.accepted = ctx.rows
        row.status, row.finished_at = "done", dt.datetime.now(dt.timezone.utc)
        bus.mark(ctx.db, "number_transfer", [row.id], "update")

    def set_status_many(self, ctx: ActionContext, ids: list[Any]) -> int:
        """The bulk job's set-based path: one UPDATE per chunk of ids (scope re-applied)."""
        return services.set_status_many(ctx.db, ctx.user, ids, ctx.params["status_id"])


class Projects(Resource, model=Project):
    label, label_one, icon = "numbers.projects", "numbers.project", "folder-kanban"
    search = ["name", "description"]
    default_sort = "name"
    columns = [
        col("name").sortable().link(),
        col("is_active", "numbers.active").boolean().sortable(),
        col("description").hide(),
        col("created_at").datetime().sortable(),
    ]
    filters = [filters.ternary("is_active", "numbers.active"), filters.date("created_at")]
    form = [
        fields.section("numbers.section.project", ["name", fields.textarea("description"), fields.boolean("is_active", label="numbers.active", default=True)]),
        # Seed 004, 2.3: the providers and geo that feed the project's incoming pool. A manager
        # sees and changes only their providers; the others stay linked (app.core.links).
        fields.section("numbers.section.pool", [
            fields.many("providers", through=ProjectProvider, resource="numbers.providers", label="numbers.providers"),
            fields.many("geos", through=ProjectGeo, resource="numbers.geo", label="numbers.geo_list"),
        ]),
        # ...and the weekdays and hours it works them: its schedule windows, saved with it.
        fields.section("numbers.section.hours", [
            fields.rows("windows", resource="numbers.schedules", fk="project_id", fields=["weekday", "start_time", "end_time"], label="numbers.windows",
                        help="numbers.windows_help"),
        ]),
    ]
    related = [("numbers.numbers", "numbers.numbers", "project_id")]  # its windows are a field (above)

    def list_query(self, user: CurrentUser, stmt: Any) -> Any:
        return stmt.where(scope.project_clause(user, Project.id, Project.created_by_id))

    def before_save(self, ctx: ActionContext, record: Any, changes: dict[str, Any], creating: bool) -> None:
        if creating:
            record.created_by_id = ctx.user.id

    def before_delete(self, ctx: ActionContext, record: Any) -> None:
        """Soft delete: the project moves to "Deleted projects" with its numbers kept."""


class DeletedProjects(Resource, model=Project):
    """Seed 004's "Deleted projects" page: restore one, or archive it for good."""

    slug = "deleted_projects"
    label, label_one, icon = "numbers.deleted_projects", "numbers.project", "archive-restore"
    trash = True  # the kit lists only deleted projects here, with no second trash toggle
    operations = frozenset({"view"})
    search = ["name"]
    default_sort = "-deleted_at"
    pagination = "offset"
    columns = [
        col("name").link(),
        col("deleted_at", "numbers.deleted_at").datetime().sortable(),
        col("archived_at", "numbers.archived_at").datetime().sortable().badge(lambda p: "gray" if p.archived_at else None),
        col("created_at").datetime().sortable().hide(),
    ]
    filters = [filters.date("deleted_at", "numbers.deleted_at")]
    detail_fields = ["name", "description", "deleted_at", "archived_at", "created_at"]

    def list_query(self, user: CurrentUser, stmt: Any) -> Any:
        return stmt.where(scope.project_clause(user, Project.id, Project.created_by_id))

    @action("numbers.restore_project", bulk=True, confirm=True, color="green", visible=lambda p: p.archived_at is None)
    def bring_back(self, ctx: ActionContext, records: list[Project]) -> str:
        for project in records:
            if project.archived_at is not None:
                raise ValidationFailed.one("", "numbers.archived_cannot_restore", name=project.name)
            project.deleted_at = None
        return "numbers.project_restored"

    @action("numbers.archive_project", bulk=True, confirm=True, color="gray", visible=lambda p: p.archived_at is None)
    def archive(self, ctx: ActionContext, records: list[Project]) -> str:
        now = dt.datetime.now(dt.timezone.utc)
        for project in records:
            project.archived_at = project.archived_at or now
        return "numbers.project_archived"


class Providers(Resource, model=Provider):
    label, label_one, icon = "numbers.providers", "numbers.provider", "building-2"
    search = ["name", "group_name", "contact"]
    default_sort = "name"
    columns = [
        col("name").sortable().link(),
        col("group_name", "numbers.group").sortable(),
        col("kind", "numbers.provider_kind").sortable(),
        col("contact", "numbers.contact"),
        col("is_active", "numbers.active").boolean().sortable(),
    ]
    filters = [filters.select("group_name", label="numbers.group"), filters.ternary("is_active", "numbers.active")]
    form = [fields.section("numbers.section.provider", [
        "name", fields.text("group_name", label="numbers.group"), fields.text("kind", label="numbers.provider_kind"),
        fields.text("contact", label="numbers.contact"), fields.boolean("is_active", label="numbers.active", default=True),
    ])]
    related = [("numbers.numbers", "numbers.numbers", "provider_id")]

    def list_query(self, user: CurrentUser, stmt: Any) -> Any:
        return stmt.where(scope.provider_clause(user, Provider.id))


class GeoPlaces(Resource, model=Geo):
    slug = "geo"
    label, label_one, icon = "numbers.geo_list", "numbers.geo", "map-pin"
    search = ["name"]
    default_sort = "name"
    columns = [col("name").sortable().link(), col("country", "numbers.country").sortable(), col("region", "numbers.region").sortable(), col("city", "numbers.city").sortable()]
    filters = [filters.select("country", label="numbers.country")]
    form = [fields.section("numbers.section.geo", [
        fields.text("country", label="numbers.country", help="numbers.country_help"),
        fields.text("region", label="numbers.region"), fields.text("city", label="numbers.city"),
    ])]

    def validate(self, ctx: ActionContext, values: dict[str, Any], record: Any | None) -> dict[str, tuple[str, dict]]:
        country = values.get("country", getattr(record, "country", None))
        if country is not None and (len(country) != 2 or not country.isalpha()):
            return {"country": ("numbers.bad_country", {})}
        return {}

    def before_save(self, ctx: ActionContext, record: Any, changes: dict[str, Any], creating: bool) -> None:
        record.country = (record.country or "").upper()
        record.name = " · ".join(p for p in (record.country, record.region, record.city) if p)


class Statuses(Resource, model=NumberStatus):
    slug = "statuses"
    label, label_one, icon = "numbers.statuses", "numbers.status", "list-checks"
    search = ["name", "code"]
    default_sort = "position"
    pagination = "offset"
    columns = [
        col("name").sortable().link().badge(lambda s: s.color or "gray"),
        col("code", "numbers.code").sortable(),
        col("kind", "numbers.kind").sortable().choices("numbers.kind"),
        col("position", "numbers.position").numeric().sortable().editable(),
    ]
    form = [fields.section("numbers.section.status", [
        fields.text("code", label="numbers.code", create_only=True), "name", fields.text("name_en", label="numbers.name_en"),
        fields.select("kind", [(k.value, f"numbers.kind.{k.value}") for k in StatusKind], label="numbers.kind"),
        fields.select("color", [(c, c) for c in ("gray", "blue", "green", "red", "amber", "orange", "violet", "cyan")], label="numbers.color"),
        fields.integer("position", min=0, max=10_000, label="numbers.position"),
    ])]

    @classmethod
    def title_sql(cls, lang: str = "ru") -> Any:
        """A status is named in the reader's language where it has an English name (lists, exports)."""
        from sqlalchemy import func

        return func.coalesce(NumberStatus.name_en, NumberStatus.name) if lang == "en" else NumberStatus.name

    def after_save(self, ctx: ActionContext, record: Any, changes: dict[str, Any], creating: bool) -> None:
        services.forget_names()

    def before_delete(self, ctx: ActionContext, record: Any) -> None:
        from sqlmodel import select

        if ctx.db.exec(select(PhoneNumber.id).where(PhoneNumber.status_id == record.id).limit(1)).first() is not None:
            raise ValidationFailed.one("", "numbers.status_in_use")


class Schedules(Resource, model=ProjectSchedule):
    label, label_one, icon = "numbers.schedules", "numbers.schedule", "calendar-clock"
    default_sort = "weekday"
    pagination = "offset"
    menu = False
    columns = [
        col("project_id", "numbers.project").relation("numbers.projects").sortable(),
        col("weekday", "numbers.weekday").sortable().choices("numbers.weekday"),
        col("start_time", "numbers.start_time").sortable(),
        col("end_time", "numbers.end_time").sortable(),
    ]
    filters = [filters.relation("project_id", "numbers.projects", "numbers.project")]
    form = [fields.section("numbers.section.schedule", [
        fields.relation("project_id", "numbers.projects", label="numbers.project"),
        fields.select("weekday", WEEKDAYS, label="numbers.weekday"),
        FormField("start_time", "time", label="numbers.start_time"),
        FormField("end_time", "time", label="numbers.end_time"),
    ])]

    def list_query(self, user: CurrentUser, stmt: Any) -> Any:
        return stmt.where(scope.project_clause(user, ProjectSchedule.project_id))

    def validate(self, ctx: ActionContext, values: dict[str, Any], record: Any | None) -> dict[str, tuple[str, dict]]:
        start = values.get("start_time", getattr(record, "start_time", None))
        end = values.get("end_time", getattr(record, "end_time", None))
        if start is not None and end is not None and start >= end:
            return {"end_time": ("numbers.window_order", {})}
        return {}


class Calls(Resource, model=CallEvent):
    slug = "calls"
    label, label_one, icon = "numbers.calls", "numbers.call", "phone-call"
    operations = frozenset({"view"})
    default_sort = "-id"
    menu = False
    columns = [
        col("created_at").datetime().sortable(),
        col("number_id", "numbers.number").value(lambda c: str(c.number_id)),
        col("event", "numbers.event").sortable().choices("numbers.event"),
        col("status_id", "numbers.status").relation("numbers.statuses"),
        col("duration_s", "numbers.duration").numeric(),
        col("operator", "numbers.operator"),
        col("call_id", "numbers.call_id").hide(),
    ]
    filters = [filters.date("created_at")]

    def list_query(self, user: CurrentUser, stmt: Any) -> Any:
        if scope.sees_all(user):
            return stmt
        from sqlmodel import select

        visible = select(PhoneNumber.id).where(scope.provider_clause(user, PhoneNumber.provider_id))
        return stmt.where(CallEvent.number_id.in_(visible))


def _transfer_file(t: NumberTransfer) -> str | None:
    """The export, or the import's report of invalid and duplicate rows (through the job's file route,
    which checks that the caller may see the run)."""
    if t.job_run_id is None or t.status != "done":
        return None
    if t.direction == "import" and not (t.duplicates or t.invalid):
        return None
    return f"/api/jobs/{t.job_run_id}/file"


def _transfer_file_label(t: NumberTransfer) -> str:
    from app.core.i18n import t as tr

    if _transfer_file(t) is None:
        return ""
    return tr("numbers.file.export" if t.direction == "export" else "numbers.file.errors")


class Transfers(Resource, model=NumberTransfer):
    slug = "transfers"
    label, label_one, icon = "numbers.transfers", "numbers.transfer", "arrow-left-right"
    operations = frozenset({"view"})
    default_sort = "-id"
    columns = [
        col("id").sortable().link(),
        col("created_at").datetime().sortable(),
        col("direction", "numbers.direction").choices("numbers.direction").sortable(),
        col("source", "numbers.source").choices("numbers.source"),
        col("filename", "numbers.filename"),
        col("status", "field.status").choices("numbers.transfer_status").badge(lambda t: {"done": "green", "failed": "red", "running": "blue", "cancelled": "amber"}.get(t.status, "gray")),
        col("total", "numbers.total").numeric(),
        col("accepted", "numbers.accepted").numeric(),
        col("duplicates", "numbers.duplicates").numeric(),
        col("invalid", "numbers.invalid").numeric(),
        col("message", "numbers.message").hide(),
        col("job_run_id", "numbers.file").value(lambda t: _transfer_file_label(t)).href(_transfer_file),
    ]
    filters = [filters.select("direction", [("import", "numbers.direction.import"), ("export", "numbers.direction.export")], "numbers.direction"),
               filters.select("status", [(s, f"numbers.transfer_status.{s}") for s in ("queued", "running", "done", "failed", "cancelled")], "field.status"),
               filters.date("created_at")]

    def list_query(self, user: CurrentUser, stmt: Any) -> Any:
        if scope.sees_all(user):
            return stmt
        return stmt.where(NumberTransfer.user_id == user.id)


class SftpHosts(Resource, model=SftpHost):
    slug = "sftp"
    label, label_one, icon = "numbers.sftp_hosts", "numbers.sftp_host", "server"
    search = ["name", "host"]
    default_sort = "name"
    columns = [
        col("name").sortable().link(),
        col("host", "numbers.host").sortable(),
        col("port", "numbers.port").plain(),
        col("username", "numbers.username"),
        col("remote_dir", "numbers.remote_dir"),
        col("direction", "numbers.direction").choices("numbers.direction"),
        col("cron", "numbers.cron"),
        col("is_active", "numbers.active").boolean(),
        col("last_run_at", "numbers.last_run_at").datetime(),
    ]
    form = [
        fields.section("numbers.section.connection", [
            "name", fields.text("host", label="numbers.host"), fields.integer("port", min=1, max=65535, label="numbers.port", default=22),
            fields.text("username", label="numbers.username"),
            fields.secret("password", label="numbers.password", help="numbers.secret_help"),
            fields.secret_text("private_key", label="numbers.private_key", help="numbers.private_key_help"),
        ]),
        fields.section("numbers.section.transfer", [
            fields.text("remote_dir", label="numbers.remote_dir", default="/"),
            fields.select("direction", [("import", "numbers.direction.import"), ("export", "numbers.direction.export")], label="numbers.direction", default="import"),
            fields.text("file_mask", label="numbers.file_mask", default="*.csv"),
            fields.relation("project_id", "numbers.projects", label="numbers.project"),
            fields.relation("provider_id", "numbers.providers", label="numbers.provider"),
            fields.text("cron", label="numbers.cron", help="numbers.cron_help"),
            fields.boolean("is_active", label="numbers.active", default=True),
        ]),
    ]
    detail_fields = ["name", "host", "port", "username", "remote_dir", "direction", "file_mask", "project_id", "provider_id", "cron", "is_active", "last_run_at"]

    def validate(self, ctx: ActionContext, values: dict[str, Any], record: Any | None) -> dict[str, tuple[str, dict]]:
        from app.core.jobs import validate_cron

        cron = values.get("cron")
        if cron and not validate_cron(cron):
            return {"cron": ("jobs.cron_invalid", {})}
        if values.get("private_key"):  # a key that cannot be used is refused at once, under its field
            from integrations.sftp import SftpError, load_private_key

            try:
                load_private_key(values["private_key"])
            except SftpError as exc:
                return {"private_key": (f"numbers.sftp.error.{exc.code}", exc.params)}
        return {}

    # SFTP exchange (app/panels/numbers/sftp.py): schedule sync, test connection, run now, host key.
    def after_save(self, ctx: ActionContext, record: Any, changes: dict[str, Any], creating: bool) -> None:
        from app.panels.numbers import sftp

        sftp.sync_schedule(ctx.db, ctx.user, record)

    def before_delete(self, ctx: ActionContext, record: Any) -> None:
        from app.panels.numbers import sftp

        if sftp.has_history(ctx.db, record.id):
            raise ValidationFailed.one("", "numbers.sftp.has_history")
        sftp.drop_schedule(ctx.db, ctx.user, record.id)

    @action("numbers.test_connection", row=True)
    def test_connection(self, ctx: ActionContext, records: list[SftpHost]) -> str:
        from app.panels.numbers import sftp

        messages = []
        for host in records:
            ok, message = sftp.test_connection(ctx.db, ctx.user, host, ctx.lang)
            if not ok:
                raise ValidationFailed.one("", "numbers.sftp.test_failed", message=message)
            messages.append(message)
        return "\n".join(messages)

    @action("numbers.run_now", row=True, confirm=True, visible=lambda h: h.is_active)
    def run_now(self, ctx: ActionContext, records: list[SftpHost]) -> str:
        from app.core.i18n import t
        from app.panels.numbers import sftp

        runs = [sftp.start_run(ctx.user, host, ctx.lang) for host in records]
        return t("numbers.sftp.queued", ctx.lang, run=", ".join(f"#{r.id}" for r in runs))

    @action("numbers.forget_host_key", row=True, confirm=True, color="gray")
    def forget_host_key(self, ctx: ActionContext, records: list[SftpHost]) -> str:
        from app.panels.numbers import sftp

        for host in records:
            sftp.forget_host_key(ctx.db, ctx.user, host)
        return "numbers.sftp.key_forgotten"


class Scopes(Resource, model=ManagerScope):
    slug = "scopes"
    label, label_one, icon = "numbers.scopes", "numbers.scope", "user-check"
    operations = frozenset({"view", "create", "delete"})
    default_sort = "-id"
    columns = [
        col("user_id", "numbers.manager").relation("admin.users").sortable(),
        col("provider_id", "numbers.provider").relation("numbers.providers").sortable(),
        col("group_name", "numbers.group"),
    ]
    filters = [filters.relation("user_id", "admin.users", "numbers.manager")]
    form = [fields.section("numbers.section.scope", [
        fields.relation("user_id", "admin.users", label="numbers.manager"),
        fields.relation("provider_id", "numbers.providers", label="numbers.provider", required=False),
        fields.text("group_name", label="numbers.group", required=False),
    ])]

    def validate(self, ctx: ActionContext, values: dict[str, Any], record: Any | None) -> dict[str, tuple[str, dict]]:
        if bool(values.get("provider_id")) == bool(values.get("group_name")):
            return {"provider_id": ("numbers.scope_one", {})}
        return {}


__all__ = [
    "Numbers", "Projects", "DeletedProjects", "Providers", "GeoPlaces", "Statuses", "Schedules", "Calls", "Transfers", "SftpHosts", "Scopes",
]
