"""The kit's own panel: users, roles and the audit log, declared as ordinary resources."""

from __future__ import annotations

import json
from typing import Any

from sqlmodel import select

from app.core import auth
from app.core.errors import ValidationFailed
from app.core.inputs import clean_text
from app.core.registry import Panel, register
from app.core.resource import ActionContext, Resource, action, col, fields, filters
from models.core import AuditLog, NotificationRule, Role, User
from models.jobs import JobRun, JobStatus, Schedule

class Users(Resource, model=User):
    label, label_one, icon = "users", "users", "users"
    search = ["username", "full_name"]
    default_sort = "username"
    columns = [
        col("username").sortable().link(),
        col("full_name").sortable(),
        col("role").sortable().choices("role").badge(lambda u: {"admin": "red", "manager": "amber"}.get(u.role, "gray")),
        col("is_active").boolean(),
        col("created_at").datetime().sortable(),
    ]
    filters = [filters.relation("role", "admin.roles"), filters.ternary("is_active"), filters.date("created_at")]
    form = [
        fields.section("users", [
            fields.text("username", create_only=True),
            "full_name",
            fields.relation("role", "admin.roles"),
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
        if record is not None and record.id == ctx.user.id:
            if "role" in values and values["role"] != record.role:
                errors["role"] = ("self.demote", {})
            if values.get("is_active") is False:
                errors["is_active"] = ("self.demote", {})
        if values.get("username") is not None and not values["username"].replace("_", "").replace(".", "").replace("-", "").isalnum():
            errors["username"] = ("users.username_chars", {})
        return errors

    def before_save(self, ctx: ActionContext, record: Any, changes: dict[str, Any], creating: bool) -> None:
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


class Roles(Resource, model=Role):
    label, label_one, icon = "roles", "roles", "shield"
    slug = "roles"
    search = ["name", "label"]
    default_sort = "name"
    pagination = "offset"
    columns = [col("name").sortable().link(), col("label").sortable(), col("permissions").value(lambda r: ", ".join(r.permissions))]

    @classmethod
    def form_sections(cls) -> list:
        from app.core.registry import all_permissions

        perms = [("*", "roles.all")] + [(p, p) for p in all_permissions()]
        return [fields.section("roles", [fields.text("name", create_only=True), "label", fields.multiselect("permissions", perms)])]

    def title(self, record: Any) -> str:
        return record.name

    def before_delete(self, ctx: ActionContext, record: Any) -> None:
        if record.builtin:
            raise ValidationFailed.one("", "roles.builtin")
        if ctx.db.exec(select(User).where(User.role == record.name)).first() is not None:
            raise ValidationFailed.one("", "roles.in_use")

    def validate(self, ctx: ActionContext, values: dict[str, Any], record: Any | None) -> dict:
        if record is not None and record.name == ctx.user.role and "permissions" in values:
            if ctx.user.is_admin and "*" not in values["permissions"]:
                return {"permissions": ("self.demote", {})}
        return {}


class Audit(Resource, model=AuditLog):
    label, label_one, icon = "audit", "audit", "scroll-text"
    slug = "audit"
    operations = frozenset({"view"})
    search = ["username", "entity_type", "entity_id", "action"]
    columns = [
        col("created_at", "audit.when").datetime().sortable(),
        col("username", "audit.user").sortable(),
        col("action", "audit.action").sortable().choices("action"),
        col("entity_type", "audit.entity").sortable(),
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


JOB_COLORS = {JobStatus.queued: "gray", JobStatus.running: "blue", JobStatus.succeeded: "green", JobStatus.failed: "red", JobStatus.cancelled: "amber"}


class Jobs(Resource, model=JobRun):
    """Every background run: live progress, the error, cancel and retry. Users see their own runs;
    ``jobs.view`` sees everyone's."""

    label, label_one, icon = "jobs", "jobs", "loader"
    slug = "jobs"
    operations = frozenset({"view"})
    search = ["kind", "username", "message"]
    columns = [
        col("id").sortable().link(),
        col("kind", "jobs.kind").sortable(),
        col("status", "field.status").sortable().choices("jobs.status").badge(lambda r: JOB_COLORS.get(r.status)),
        col("progress", "jobs.progress").progress(),
        col("message", "jobs.message"),
        col("username", "audit.user").sortable(),
        col("created_at").datetime().sortable(),
        col("finished_at", "jobs.finished").datetime().hide(),
        col("error", "jobs.error").value(lambda r: (r.error or "").splitlines()[-1][:120] if r.error else "").hide(),
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
        return f"{record.kind} #{record.id}"


class Schedules(Resource, model=Schedule):
    """Cron schedules that enqueue job kinds, fired by ``python -m jobs.scheduler``."""

    label, label_one, icon = "schedules", "schedules", "calendar-clock"
    slug = "schedules"
    search = ["name", "kind"]
    default_sort = "name"
    pagination = "offset"
    columns = [
        col("name", "field.name").sortable().link(),
        col("kind", "jobs.kind").sortable(),
        col("cron", "schedules.cron"),
        col("enabled", "rules.enabled").boolean(),
        col("next_fire_at", "schedules.next").datetime().sortable(),
        col("last_fired_at", "schedules.last").datetime().sortable(),
    ]
    filters = [filters.ternary("enabled", "rules.enabled"), filters.select("kind", label="jobs.kind")]
    detail_fields = ["name", "kind", "cron", "args", "enabled", "next_fire_at", "last_fired_at", "created_by", "created_at"]

    @classmethod
    def form_sections(cls) -> list:
        from app.core.jobs import KINDS

        kinds = [(k, k) for k in sorted(KINDS)]
        return [fields.section("schedules", [
            fields.text("name"),
            fields.select("kind", kinds, label="jobs.kind"),
            fields.text("cron", label="schedules.cron", help="schedules.cron_help"),
            fields.textarea("args_json", label="schedules.args", virtual=True, help="schedules.args_help"),
            fields.boolean("enabled", label="rules.enabled", default=True),
        ])]

    def can(self, user: Any, operation: str, record: Any = None) -> bool:
        if operation == "view":
            return user.has_perm("jobs.schedules") or user.has_perm("jobs.view")
        return operation in self.operations and user.has_perm("jobs.schedules")

    def validate(self, ctx: ActionContext, values: dict[str, Any], record: Any | None) -> dict:
        from app.core.jobs import validate_cron

        errors: dict[str, tuple[str, dict]] = {}
        if "cron" in values and not validate_cron(values["cron"] or ""):
            errors["cron"] = ("jobs.cron_invalid", {})
        raw = values.get("args_json")
        if raw:
            try:
                parsed = json.loads(raw)
                if not isinstance(parsed, dict):
                    raise ValueError
                clean_text(parsed)  # "\u0000" inside the JSON: PostgreSQL's jsonb refuses it; nesting bounded
            except (ValueError, RecursionError):
                errors["args_json"] = ("schedules.args_invalid", {})
        return errors

    def before_save(self, ctx: ActionContext, record: Any, changes: dict[str, Any], creating: bool) -> None:
        from datetime import datetime, timezone

        from app.core.jobs import next_fire

        if changes.get("args_json"):
            record.args = json.loads(changes["args_json"])
        if creating:
            record.created_by = ctx.user.username
        cron = changes.get("cron", record.cron)
        enabled = changes.get("enabled", record.enabled)
        record.next_fire_at = next_fire(cron, datetime.now(timezone.utc)) if enabled else None

    def title(self, record: Any) -> str:
        return record.name


CHANNELS = (("inapp", "channel.inapp"), ("telegram", "channel.telegram"))


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
        col("user_id", "audit.user").value(lambda r: _username(r)),
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



def _username(rule: NotificationRule) -> str:
    from sqlmodel import Session

    db = Session.object_session(rule)
    user = db.get(User, rule.user_id) if db is not None and rule.user_id else None
    return user.username if user else ""


def _telegram_page():
    from app.core.registry import Page
    from app.core.ui.telegram_page import ROUTE, TelegramState, telegram_page

    return Page(ROUTE, "telegram.title", telegram_page, perm="telegram.settings", icon="send", on_load=TelegramState.load)


def _short_diff(d: dict) -> str:
    parts = []
    for k, v in d.items():
        if isinstance(v, list) and len(v) == 2:
            parts.append(f"{k}: {v[0]} → {v[1]}")
        else:
            parts.append(f"{k}: {v}")
    text = "; ".join(parts)
    return text if len(text) <= 160 else text[:157] + "…"


PANEL = register(
    Panel(
        name="admin",
        label="admin",
        icon="settings",
        resources=[Users, Roles, Audit, Rules, Jobs, Schedules],
        pages=[_telegram_page()],
        # Background jobs (app/core/jobs.py): see others' runs, cancel / retry them, edit schedules.
        permissions=["jobs.view", "jobs.cancel", "jobs.retry", "jobs.schedules", "telegram.settings"],
        roles={
            "admin": ("role.admin", ["*"]),
            "manager": ("role.manager", []),
            "user": ("role.user", []),
        },
        catalog={
            "users.password_help": ("Оставьте пустым, чтобы не менять", "Leave empty to keep the current password"),
            "users.password_short": ("Не короче {n} символов", "At least {n} characters"),
            "users.username_chars": ("Только буквы, цифры, точка, дефис и подчёркивание", "Letters, digits, dot, dash and underscore only"),
            "roles.all": ("Все права (администратор)", "Everything (administrator)"),
            "roles.builtin": ("Встроенную роль нельзя удалить", "A built-in role cannot be deleted"),
            "roles.in_use": ("Роль назначена пользователям", "The role is assigned to users"),
            "admin.users": ("Пользователи", "Users"),
            "rules": ("Правила уведомлений", "Notification rules"),
            "rules.event": ("Событие", "Event"),
            "rules.channel": ("Канал", "Channel"),
            "rules.enabled": ("Включено", "Enabled"),
            "rules.audience": ("Укажите роль или пользователя (одно из двух)", "Choose a role or a user (one of them)"),
            "channel.inapp": ("В приложении", "In-app"),
            "jobs": ("Фоновые задачи", "Background jobs"),
            "schedules": ("Расписания", "Schedules"),
            "schedules.cron": ("Cron", "Cron"),
            "schedules.cron_help": ("Минута час день месяц день недели, напр. 0 3 * * * — каждый день в 03:00 (МСК)", "minute hour day month weekday, e.g. 0 3 * * * — daily at 03:00 (Moscow time)"),
            "schedules.args": ("Параметры (JSON)", "Arguments (JSON)"),
            "schedules.args_help": ("Объект JSON, напр. {\"resource\": \"stock.products\"}", "A JSON object, e.g. {\"resource\": \"stock.products\"}"),
            "schedules.args_invalid": ("Нужен объект JSON", "A JSON object is required"),
            "schedules.next": ("Следующий запуск", "Next run"),
            "schedules.last": ("Последний запуск", "Last run"),
            "jobs.kind": ("Тип", "Kind"),
            "jobs.progress": ("Прогресс", "Progress"),
            "jobs.message": ("Сообщение", "Message"),
            "jobs.finished": ("Завершено", "Finished"),
            "jobs.error": ("Ошибка", "Error"),
            "jobs.cancel": ("Отменить", "Cancel"),
            "jobs.retry": ("Повторить", "Retry"),
            "jobs.cancelled": ("Задача отменена", "Job cancelled"),
            "jobs.retried": ("Задача поставлена снова", "Job queued again"),
            "jobs.status.queued": ("В очереди", "Queued"),
            "jobs.status.running": ("Выполняется", "Running"),
            "jobs.status.succeeded": ("Готово", "Succeeded"),
            "jobs.status.failed": ("Ошибка", "Failed"),
            "jobs.status.cancelled": ("Отменена", "Cancelled"),
            "channel.telegram": ("Telegram", "Telegram"),
        },
    )
)
