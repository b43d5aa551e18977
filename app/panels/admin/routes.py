"""The admin panel's page addresses (UI-free, so services and tests can name them)."""

SECURITY = "/admin/security"

#: The signed-in user's own sign-in settings (TOTP, Telegram link): every user, their own account.
PROFILE = "/profile"
