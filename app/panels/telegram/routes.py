"""The telegram panel's page addresses (UI-free). The settings page keeps the address it had when
it sat under Administration, so bookmarks and links in old messages still open it."""

SETTINGS = "/admin/telegram"
