"""Administration → Security, declared: whether anyone may register, whether new accounts wait for
an admin's approval (the ``Setting`` rows :func:`app.core.auth.registration_policy` reads; the
environment until an admin chooses), and what sign-in refuses. The kit's ``Settings`` kind gives
the page, its API (``/api/admin/settings/security``), the permission check and the audit row."""

from __future__ import annotations

from app.core.auth import APPROVAL_KEY, REGISTRATION_KEY, SECURITY_PERM
from app.core.config import settings
from app.core.i18n import has
from app.core.resource import fields
from app.core.settings_page import Line, Settings, SettingsContext, Status


def _status(ctx: SettingsContext) -> Status:
    role = settings.registration_role
    return Status("gray", [
        Line(ctx.t(f"role.{role}") if has(f"role.{role}") else role, label="security.role_help", code=True, id="role"),
        Line(ctx.t("security.pending_link"), href="/admin/users?f_pending=1", id="pending_link"),
        Line(ctx.t("security.signin_help", pair_max=settings.login_max_per_account, minutes=settings.login_window_seconds // 60,
                   ip_max=settings.login_max_per_ip, free=settings.login_account_free_failures, max_delay=settings.login_delay_max_seconds),
             label="security.signin_section", id="signin_policy"),
    ])


SECURITY = Settings(
    "admin.security", title="security.title", perm=SECURITY_PERM, id_prefix="sec", section="security.registration_section",
    fields=[
        fields.boolean("registration", label="security.registration", help="security.registration_help", default=lambda: settings.allow_registration),
        fields.boolean("approval", label="security.approval", help="security.approval_help", default=lambda: settings.registration_approval),
    ],
    store={"registration": REGISTRATION_KEY, "approval": APPROVAL_KEY},
    enabled_when={"approval": "registration"},
    status=_status,
)
