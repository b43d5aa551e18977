"""The admin panel's page addresses (UI-free, so services and tests can name them)."""

SECURITY = "/admin/security"
