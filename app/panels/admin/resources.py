"""The admin panel's resources: users, roles, the audit log, notification rules, background jobs and
schedules, declared as ordinary resources (the panel itself is declared in ``__init__``)."""

from __future__ import annotations

import json
from typing import Any

from sqlmodel import select

from app.core import auth, notify
from app.core.errors import ValidationFailed
from app.core.i18n import has
from app.core.inputs import clean_text
from app.core.resource import ActionContext, Choices, Resource, action, col, fields, filters
from app.core.roles import check_roles
from models.core import AuditLog, NotificationRule, Role, User
from models.jobs import JobRun, JobStatus, Schedule

class Users(Resource, model=User):
    label, label_one, icon = "users", "users", "users"
    search = ["username", "full_name"]
    default_sort = "username"
    columns = [
        col("username").sortable().link(),
        col("full_name").sortable(),
        col("roles", "field.roles").choices("role").badge(
            lambda u: "red" if "admin" in (u.roles or []) else ("amber" if any(r.endswith(".manager") for r in u.roles or []) else "gray")),
        col("is_active").boolean(),
        # Self-registered accounts waiting for approval (Administration → Security).
        col("pending", "users.approval").sortable().value(lambda u: "pending" if u.pending else "").choices("users.approval").badge(lambda u: "amber" if u.pending else None),
        col("created_at").datetime().sortable(),
    ]
    filters = [filters.relation("roles", "admin.roles", "field.roles"), filters.ternary("is_active"), filters.ternary("pending", "users.approval_filter"), filters.date("created_at")]

    @classmethod
    def form_sections(cls) -> list:
        from app.core.config import settings
        from app.core.roles import role_choices

        return [
            fields.section("users", [
                fields.text("username", create_only=True),
                "full_name",
                # Required here: no role at all is only for an account waiting for approval.
                fields.multiselect("roles", role_choices(), label="field.roles", required=True, help="users.roles_help",
                                   default=settings.registration_role),
                fields.password("password", help="users.password_help"),
                "is_active",
                fields.secret("telegram_chat_id"),
            ]),
        ]

    def validate(self, ctx: ActionContext, values: dict[str, Any], record: Any | None) -> dict:
        errors: dict[str, tuple[str, dict]] = {}
        if record is None and not values.get("password"):
            errors["password"] = ("error.required", {})
        if values.get("password") and len(values["password"]) < 8:
            errors["password"] = ("users.password_short", {"n": 8})
        if "roles" in values:
            if not values["roles"]:
                errors["roles"] = ("error.required", {})
            elif (why := check_roles(ctx.db, values["roles"])) is not None:
                errors["roles"] = why
        if record is not None and record.id == ctx.user.id:
            if "roles" in values and sorted(values["roles"] or []) != sorted(record.roles or []):
                errors["roles"] = ("self.demote", {})
            if values.get("is_active") is False:
                errors["is_active"] = ("self.demote", {})
        tg = values.get("telegram_chat_id")
        if tg and not (str(tg).strip().isdigit() and len(str(tg).strip()) <= 15):
            errors["telegram_chat_id"] = ("users.telegram_id_digits", {})  # the Telegram user id, never a @username
        if values.get("username") is not None and not values["username"].replace("_", "").replace(".", "").replace("-", "").isalnum():
            errors["username"] = ("users.username_chars", {})
        return errors

    def before_save(self, ctx: ActionContext, record: Any, changes: dict[str, Any], creating: bool) -> None:
        if "telegram_chat_id" in changes:  # linked by id: the username (display only) is not known
            record.telegram_username = None
            if changes["telegram_chat_id"]:
                changes["telegram_chat_id"] = str(changes["telegram_chat_id"]).strip()
        password = changes.pop("password", None)
        if password:
            record.hashed_password = auth.hash_password(password)
            if not creating:
                auth.revoke_all(ctx.db, record.id)
        if not creating and changes.get("is_active") is False:
            auth.revoke_all(ctx.db, record.id)

    def before_delete(self, ctx: ActionContext, record: Any) -> None:
        if record.id == ctx.user.id:
            raise ValidationFailed.one("", "self.delete")
        auth.revoke_all(ctx.db, record.id)

    # -- accounts waiting for approval (Administration → Security) --------------------------
    @action("users.approve", bulk=True, confirm=True, color="green", visible=lambda u: u.pending,
            params=[fields.relation("role", "admin.roles", label="users.approve_role", required=True)])
    def approve(self, ctx: ActionContext, records: list[User]) -> str:
        """Let self-registered accounts in with the role the admin picks (``admin.users.approve``;
        the kit audits the ids and the role). Accounts already approved are refused, not changed."""
        if any(not u.pending for u in records):
            raise ValidationFailed.one("", "users.not_pending")
        for user in records:
            user.pending, user.roles = False, [ctx.params["role"]]
        return "users.approved"

    @action("users.reset_mfa", confirm=True, color="red", visible=lambda u: u.totp_enabled_at is not None)
    def reset_mfa(self, ctx: ActionContext, records: list[User]) -> str:
        """Switch a user's TOTP off (lost phone and recovery codes): they enrol again — at their
        next sign-in if their role requires it (``admin.users.reset_mfa``; the kit audits it)."""
        from sqlalchemy import text as sql

        for user in records:
            user.totp_secret, user.totp_enabled_at, user.totp_last_step = None, None, None
            ctx.db.execute(sql("DELETE FROM recovery_code WHERE user_id = :u"), {"u": user.id})
        return "users.mfa_reset"


def _role_label_value(role: Role) -> str:
    """The roles list's label cell: the role's name (translated through ``role.<name>``) while its
    label is the built-in one, else the label an admin gave it."""
    from app.core.i18n import t

    key = f"role.{role.name}"
    return role.name if has(key) and role.label in ("", t(key, "ru"), t(key, "en")) else role.label


class Roles(Resource, model=Role):
    label, label_one, icon = "roles", "roles", "shield"
    slug = "roles"
    search = ["name", "label"]
    default_sort = "name"
    pagination = "offset"
    columns = [
        col("name").sortable().link(),
        # a built-in role reads in the user's language (role.<name>) unless an admin relabelled it
        col("label").sortable().value(_role_label_value).choices("role"),
        col("permissions").value(lambda r: ", ".join(r.permissions)),
    ]

    @classmethod
    def form_sections(cls) -> list:
        from app.core.registry import permission_groups

        groups = permission_groups()
        perms = [("*", "roles.all")] + [item for _head, items in groups for item in items]
        grouped = tuple((head, tuple(p for p, _label in items)) for head, items in groups)
        return [fields.section("roles", [fields.text("name", create_only=True), "label",
                                         fields.multiselect("permissions", perms, groups=grouped, help="roles.permissions_help")])]

    def title(self, record: Any) -> str:
        from app.core.roles import role_label

        return role_label(record.name, stored=record.label)

    def before_delete(self, ctx: ActionContext, record: Any) -> None:
        if record.builtin:
            raise ValidationFailed.one("", "roles.builtin")
        if ctx.db.exec(select(User).where(User.roles.contains([record.name]))).first() is not None:
            raise ValidationFailed.one("", "roles.in_use")

    def after_save(self, ctx: ActionContext, record: Any, changes: dict[str, Any], creating: bool) -> None:
        from app.core.roles import forget_choices

        forget_choices()  # the user form offers the new role at once

    def validate(self, ctx: ActionContext, values: dict[str, Any], record: Any | None) -> dict:
        if record is not None and record.name in ctx.user.roles and "permissions" in values:
            if ctx.user.is_admin and "*" not in values["permissions"]:
                return {"permissions": ("self.demote", {})}
        return {}


class Audit(Resource, model=AuditLog):
    """The operation log. Each reader sees only the rows about what they may see (see
    :mod:`app.core.audit_scope`): a manager never reads an administrator's secret changes."""

    label, label_one, icon = "audit", "audit", "scroll-text"
    slug = "audit"
    operations = frozenset({"view"})
    search = ["username", "entity_type", "entity_id", "action"]
    columns = [
        col("created_at", "audit.when").datetime().sortable(),
        col("username", "audit.user").sortable(),
        col("action", "audit.action").sortable().choices("action"),
        col("entity_type", "audit.entity").sortable().choices("entity"),
        col("entity_id", "audit.entity_id"),
        col("diff", "audit.diff").value(lambda a: _short_diff(a.diff)),
        col("source", "audit.source").hide(),
    ]
    filters = [
        filters.date("created_at", "audit.when"),
        filters.select("username", label="audit.user"),
        filters.select("action", label="audit.action"),
        filters.select("entity_type", label="audit.entity"),
        filters.text("entity_id", "audit.entity_id"),
        filters.select("source", (("ui", "UI"), ("api", "API"), ("job", "job"), ("system", "system")), "audit.source"),
    ]
    default_sort = "-id"

    def list_query(self, user: Any, stmt: Any) -> Any:
        from app.core.audit_scope import visible_clause

        return stmt.where(visible_clause(user))


JOB_COLORS = {JobStatus.queued: "gray", JobStatus.running: "blue", JobStatus.succeeded: "green", JobStatus.failed: "red", JobStatus.cancelled: "amber"}


def _job_file(run: JobRun) -> str | None:
    """The run's file (an export, an error report) through the route that checks who may read it."""
    return f"/api/jobs/{run.id}/file" if run.result_file and run.status == JobStatus.succeeded else None


def _job_file_label(run: JobRun) -> str:
    from pathlib import PurePath

    return PurePath(run.result_file).name if run.result_file else ""


class Jobs(Resource, model=JobRun):
    """Every background run: live progress, the error, cancel and retry. Users see their own runs;
    ``jobs.view`` sees everyone's."""

    label, label_one, icon = "jobs", "jobs", "loader"
    slug = "jobs"
    operations = frozenset({"view"})
    search = ["kind", "username", "message"]
    columns = [
        col("id").sortable().link(),
        col("kind", "jobs.kind").sortable().choices("jobkind"),
        col("status", "field.status").sortable().choices("jobs.status").badge(lambda r: JOB_COLORS.get(r.status)),
        col("progress", "jobs.progress").progress(),
        col("message", "jobs.message"),
        col("username", "audit.user").sortable(),
        col("created_at").datetime().sortable(),
        col("finished_at", "jobs.finished").datetime().hide(),
        col("error", "jobs.error").value(lambda r: (r.error or "").splitlines()[0][:120] if r.error else "").hide(),
        col("result_file", "jobs.file").value(_job_file_label).href(_job_file).hide(),
    ]
    filters = [filters.select("status", label="field.status"), filters.select("kind", label="jobs.kind"), filters.select("username", label="audit.user"), filters.date("created_at")]
    detail_fields = ["kind", "status", "progress", "message", "username", "attempts", "max_attempts", "created_at", "started_at", "finished_at", "result_file", "error"]

    def can(self, user: Any, operation: str, record: Any = None) -> bool:
        from app.core import jobs

        if operation == "view":
            return record is None or jobs.can_view(user, record)
        if operation in ("cancel", "retry"):
            return record is None or jobs._owns(user, record) or user.has_perm(f"jobs.{operation}")
        return False

    def list_query(self, user: Any, stmt: Any) -> Any:
        return stmt if user.has_perm("jobs.view") else stmt.where(JobRun.user_id == user.id)

    @action("jobs.cancel", confirm=True, color="amber", audit=False, visible=lambda r: r.status in (JobStatus.queued, JobStatus.running))
    def cancel(self, ctx: ActionContext, records: list[JobRun]) -> str:
        from app.core import jobs

        for run in records:
            jobs.cancel(ctx.db, ctx.user, run.id)
        return "jobs.cancelled"

    @action("jobs.retry", color="green", audit=False, visible=lambda r: r.status in (JobStatus.failed, JobStatus.cancelled))
    def retry(self, ctx: ActionContext, records: list[JobRun]) -> str:
        from app.core import jobs

        for run in records:
            jobs.retry(ctx.db, ctx.user, run.id)
        return "jobs.retried"

    def title(self, record: Any) -> str:
        from app.core.i18n import has, t

        key = f"jobkind.{record.kind}"
        return f"{t(key) if has(key) else record.kind} #{record.id}"  # "Импорт номеров #6", not "numbers.import #6"


class Schedules(Resource, model=Schedule):
    """Cron schedules that enqueue job kinds, fired by ``python -m jobs.scheduler``.

    A schedule runs as the user who last saved it (``owner_id``), re-checked at every tick; the
    editor offers, and the server accepts, only the kinds that user may run with those arguments
    (``app.core.jobs.may_run``). Schedules the code declares (``system``, e.g. an SFTP host's
    polling) run as the system user and are changed where they are declared, not here.
    """

    label, label_one, icon = "schedules", "schedules", "calendar-clock"
    slug = "schedules"
    search = ["name", "kind"]
    default_sort = "name"
    pagination = "offset"
    columns = [
        col("name", "field.name").sortable().link(),
        col("kind", "jobs.kind").sortable().choices("jobkind"),
        col("cron", "schedules.cron"),
        col("enabled", "rules.enabled").boolean(),
        col("owner_id", "schedules.owner").value(lambda r: _schedule_owner(r)),
        col("next_fire_at", "schedules.next").datetime().sortable(),
        col("last_fired_at", "schedules.last").datetime().sortable(),
        col("refusal", "schedules.refusal").choices("schedules.refusal").badge(lambda r: "red" if r.refusal else None),
    ]
    filters = [filters.ternary("enabled", "rules.enabled"), filters.select("kind", label="jobs.kind")]
    detail_fields = ["name", "kind", "cron", "args", "enabled", "owner_id", "next_fire_at", "last_fired_at", "refusal", "refused_at", "created_by", "created_at"]

    @classmethod
    def form_sections(cls) -> list:
        from app.core.jobs import KINDS

        kinds = [(k, KINDS[k].label or k) for k in sorted(KINDS)]
        return [fields.section("schedules", [
            fields.text("name"),
            fields.select("kind", kinds, label="jobs.kind", help="schedules.kind_help"),
            fields.text("cron", label="schedules.cron", help="schedules.cron_help"),
            fields.textarea("args_json", label="schedules.args", virtual=True, help="schedules.args_help"),
            fields.boolean("enabled", label="rules.enabled", default=True),
        ])]

    def field_choices(self, user: Any, name: str) -> list[str] | None:
        from app.core.jobs import schedulable_kinds

        return schedulable_kinds(user) if name == "kind" else None

    def can(self, user: Any, operation: str, record: Any = None) -> bool:
        if operation == "view":
            return user.has_perm("jobs.schedules") or user.has_perm("jobs.view")
        if record is not None and record.system:
            return False  # declared by code: changed where it is declared (e.g. the SFTP host)
        return operation in self.operations and user.has_perm("jobs.schedules")

    def validate(self, ctx: ActionContext, values: dict[str, Any], record: Any | None) -> dict:
        from app.core.jobs import schedule_errors, validate_cron

        errors: dict[str, tuple[str, dict]] = {}
        if "cron" in values and not validate_cron(values["cron"] or ""):
            errors["cron"] = ("jobs.cron_invalid", {})
        raw = values.get("args_json")
        args = record.args if record is not None else {}
        if raw:
            try:
                args = json.loads(raw)
                if not isinstance(args, dict):
                    raise ValueError
                clean_text(args)  # "\u0000" inside the JSON: PostgreSQL's jsonb refuses it; nesting bounded
            except (ValueError, RecursionError):
                errors["args_json"] = ("schedules.args_invalid", {})
        if "args_json" not in errors:
            # Whoever saves becomes the owner: they must be allowed to run it as it will be.
            kind = values.get("kind") or (record.kind if record is not None else "")
            errors.update(schedule_errors(ctx.user, kind, args))
        return errors

    def before_save(self, ctx: ActionContext, record: Any, changes: dict[str, Any], creating: bool) -> None:
        from datetime import datetime, timezone

        from app.core.jobs import next_fire, take_schedule

        if changes.get("args_json"):
            record.args = json.loads(changes["args_json"])
        take_schedule(record, ctx.user)
        cron = changes.get("cron", record.cron)
        enabled = changes.get("enabled", record.enabled)
        record.next_fire_at = next_fire(cron, datetime.now(timezone.utc)) if enabled else None

    def title(self, record: Any) -> str:
        return record.name


def _schedule_owner(schedule: Schedule) -> str:
    from app.core.i18n import t

    return t("schedules.system") if schedule.system else _username_of(schedule, schedule.owner_id)


#: The channels a rule may name: whatever the enabled panels registered (app.core.notify.CHANNELS).
CHANNELS = Choices(notify.channel_choices)


class Rules(Resource, model=NotificationRule):
    """Which events notify whom (a role or one user) on which channel."""

    label, label_one, icon = "rules", "rules", "bell-ring"
    slug = "rules"
    search = ["event"]
    default_sort = "event"
    pagination = "offset"
    columns = [
        col("event", "rules.event").sortable().link(),
        col("role").sortable().choices("role"),
        col("user_id", "audit.user").relation("admin.users"),
        col("channel", "rules.channel").sortable().choices("channel"),
        col("enabled", "rules.enabled").boolean(),
    ]
    filters = [filters.select("channel", CHANNELS, "rules.channel"), filters.relation("role", "admin.roles"), filters.ternary("enabled", "rules.enabled")]

    @classmethod
    def form_sections(cls) -> list:
        from app.core.registry import all_events

        events = [(k, label) for k, (label, _roles) in sorted(all_events().items())]
        return [fields.section("rules", [
            fields.select("event", events, label="rules.event"),
            fields.relation("role", "admin.roles", required=False),
            fields.relation("user_id", "admin.users", label="audit.user", required=False),
            fields.select("channel", CHANNELS, label="rules.channel", default="inapp"),
            fields.boolean("enabled", label="rules.enabled", default=True),
        ])]

    def validate(self, ctx: ActionContext, values: dict[str, Any], record: Any | None) -> dict:
        role = values.get("role", record.role if record else None)
        user_id = values.get("user_id", record.user_id if record else None)
        if (role is None) == (user_id is None):
            return {"role": ("rules.audience", {})}
        return {}

    def title(self, record: Any) -> str:
        return f"{record.event} → {record.role or record.user_id} ({record.channel})"



def _username_of(record: Any, user_id: int | None) -> str:
    """The username of ``user_id``, read through ``record``'s session (a list cell)."""
    from sqlmodel import Session

    db = Session.object_session(record)
    user = db.get(User, user_id) if db is not None and user_id else None
    return user.username if user else ""


def _short_diff(d: dict) -> str:
    parts = []
    for k, v in d.items():
        if isinstance(v, list) and len(v) == 2:
            parts.append(f"{k}: {v[0]} → {v[1]}")
        else:
            parts.append(f"{k}: {v}")
    text = "; ".join(parts)
    return text if len(text) <= 160 else text[:157] + "…"
