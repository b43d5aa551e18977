"""Roles of the numbers panel (seed 004, section 6), stored as ``numbers.<name>``.

* admin — the kit's ``admin`` role (``*``): all providers, settings, SFTP, SoftPhone, the audit log.
* manager (``numbers.manager``) — numbers and projects of *their* providers only (``manager_scope``, see scope.py):
  view, change statuses, create and edit projects, import and export within the scope, the
  conversion page. No SFTP hosts, statuses, scopes, users or audit log.
"""

ROLES = {
    "manager": (
        "role.numbers.manager",
        [
            "numbers.numbers.view",
            "numbers.numbers.create",
            "numbers.numbers.update",
            "numbers.numbers.set_status",
            "numbers.projects.view",
            "numbers.projects.create",
            "numbers.projects.update",
            "numbers.deleted_projects.view",
            "numbers.providers.view",
            "numbers.geo.view",
            "numbers.statuses.view",
            "numbers.schedules.view",
            "numbers.schedules.create",
            "numbers.schedules.update",
            "numbers.schedules.delete",
            "numbers.calls.view",
            "numbers.transfers.view",
            "numbers.import",
            "numbers.conversion.view",
        ],
    ),
}
