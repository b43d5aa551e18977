"""The built-in ``admin`` panel: users, roles, the audit log, notification rules, background jobs,
schedules and the security settings (registration and approval).

The kit ships it like any panel (``app.boot`` always enables it): the kit's core knows nothing of
it, it is declared here with the same ``Panel`` a project's own panels use. Its one role, ``admin``,
has every permission (``*``); the other panels bring their own roles.
"""

from app.core import audit
from app.core.auth import SECURITY_PERM
from app.core.registry import Page, Panel, register
from app.panels.admin.catalog import CATALOG
from app.panels.admin.resources import Audit, Jobs, Roles, Rules, Schedules, Users
from app.panels.admin.routes import PROFILE, SECURITY
from app.panels.admin.security import SECURITY as SECURITY_SETTINGS

# Audit rows not named by a resource key but about one's records, and settings others may read.
audit.entity_resource("schedule", "admin.schedules")
audit.entity_resource("job_run", "admin.jobs")

PANEL = register(
    Panel(
        name="admin",
        label="admin",
        icon="settings",
        resources=[Users, Roles, Audit, Rules, Jobs, Schedules],
        pages=[SECURITY_SETTINGS.page(SECURITY, icon="shield-check"),
               # Every user's own page: TOTP and the Telegram link (app/panels/admin/profile.py).
               Page(PROFILE, "profile.title", "app.panels.admin.profile:profile_page", icon="user-round-cog",
                    on_load="app.panels.admin.profile:ProfileState.load")],
        # Background jobs (app/core/jobs.py): see others' runs, cancel / retry them, edit schedules;
        # admin.security: registration and approval (Administration → Security).
        permissions=["jobs.view", "jobs.cancel", "jobs.retry", "jobs.schedules", SECURITY_PERM, "admin.backups"],
        # A self-registered account waits for approval; a schedule's tick was refused (its owner
        # left or lost the right): the admins hear of both.
        events={"admin.user_pending": ("users.pending_event", ["admin"]),
                "jobs.schedule_refused": ("schedules.refused_event", ["admin"])},
        # The kit's one role; the panels bring their own (``stock.manager``, ``numbers.manager``, ...).
        roles={"admin": ("role.admin", ["*"])},
        catalog=CATALOG,
    )
)
