"""Administration → Security, declared: whether anyone may register, whether new accounts wait for
an admin's approval (the ``Setting`` rows :func:`app.core.auth.registration_policy` reads; the
environment until an admin chooses), and the sign-in policy the server enforces
(:mod:`app.core.security_policy`): the roles that must use a second factor (TOTP), the networks
each role may work from (checked at sign-in and on every request of an open session), and the
login limits the throttle counts with. The kit's ``Settings`` kind gives the page, its API
(``/api/admin/settings/security``), the permission check and the audit row."""

from __future__ import annotations

from typing import Any

from app.core import security_policy
from app.core.auth import APPROVAL_KEY, REGISTRATION_KEY, SECURITY_PERM
from app.core.config import settings
from app.core.errors import ValidationFailed
from app.core.i18n import has
from app.core.resource import Choices, fields
from app.core.settings_page import Line, Settings, SettingsContext, Status


def _roles() -> list[tuple[str, str]]:
    from app.core.roles import role_choices

    return role_choices()


def _status(ctx: SettingsContext) -> Status:
    role = settings.registration_role
    limits = security_policy.login_limits(ctx.db)
    return Status("gray", [
        Line(ctx.t(f"role.{role}") if has(f"role.{role}") else role, label="security.role_help", code=True, id="role"),
        Line(ctx.t("security.pending_link"), href="/admin/users?f_pending=1", id="pending_link"),
        Line(ctx.t("security.signin_help", pair_max=limits.max_per_account, minutes=limits.window_seconds // 60,
                   ip_max=limits.max_per_ip, free=settings.login_account_free_failures, max_delay=settings.login_delay_max_seconds),
             label="security.signin_section", id="signin_policy"),
    ])


def _validate(ctx: SettingsContext, values: dict[str, Any]) -> None:
    """The allowlist: ``role: network, network`` lines naming roles that exist."""
    text = values.get("ip_allowlist") or ""
    if not isinstance(text, str) or not text.strip():
        return
    try:
        rules = security_policy.parse_allowlist(text)
    except ValueError as exc:
        line, what = exc.args
        raise ValidationFailed.one("ip_allowlist", "security.allowlist_bad", line=line, what=what) from None
    known = {name for name, _ in _roles()}
    unknown = sorted(set(rules) - known)
    if unknown:
        raise ValidationFailed.one("ip_allowlist", "security.allowlist_role", role=unknown[0])


SECURITY = Settings(
    "admin.security", title="security.title", perm=SECURITY_PERM, id_prefix="sec", section="security.registration_section",
    fields=[
        fields.boolean("registration", label="security.registration", help="security.registration_help", default=lambda: settings.allow_registration),
        fields.boolean("approval", label="security.approval", help="security.approval_help", default=lambda: settings.registration_approval),
        fields.multiselect("mfa_roles", Choices(_roles), label="security.mfa_roles", help="security.mfa_roles_help"),
        fields.textarea("ip_allowlist", label="security.ip_allowlist", help="security.ip_allowlist_help"),
        fields.integer("login_max_per_account", min=1, max=1000, label="security.max_per_account", help="security.max_per_account_help",
                       default=lambda: settings.login_max_per_account),
        fields.integer("login_max_per_ip", min=1, max=100000, label="security.max_per_ip", help="security.max_per_ip_help",
                       default=lambda: settings.login_max_per_ip),
        fields.integer("login_window_minutes", min=1, max=1440, label="security.window_minutes",
                       default=lambda: settings.login_window_seconds // 60),
    ],
    store={"registration": REGISTRATION_KEY, "approval": APPROVAL_KEY, "mfa_roles": security_policy.MFA_ROLES_KEY,
           "ip_allowlist": security_policy.IP_ALLOWLIST_KEY, **security_policy.LIMIT_KEYS},
    enabled_when={"approval": "registration"},
    validate=_validate,
    status=_status,
)
