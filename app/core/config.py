"""Runtime settings read from the environment.

Everything that differs between a laptop, CI and production comes from here. ``scripts/run`` and
``scripts/test`` export ``DATABASE_URL`` / ``REDIS_URL`` (embedded servers when unset) and
``PULT_SECRET_KEY`` before anything imports this module.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

#: The repository's root (``scripts/run`` keeps its data under ``.data/`` there).
ROOT = Path(__file__).resolve().parents[2]


def _normalise_db_url(url: str) -> str:
    """Use psycopg 3 whatever spelling of the PostgreSQL scheme was given."""
    for prefix in ("postgres://", "postgresql://", "postgresql+psycopg2://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


@dataclass(frozen=True)
class Settings:
    database_url: str = field(
        default_factory=lambda: _normalise_db_url(
            os.environ.get("DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pult")
        )
    )
    redis_url: str = field(default_factory=lambda: os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    # PULT_SECRET_KEY (the Fernet key of secrets at rest) is read by models.encrypted itself:
    # the models sit below the app and the key is theirs.
    #: Reverse proxies whose ``X-Forwarded-For`` / ``X-Forwarded-Proto`` are believed
    #: (addresses or networks, comma-separated; see :mod:`app.core.net`). Empty: none.
    trusted_proxies: tuple[str, ...] = field(
        default_factory=lambda: tuple(p.strip() for p in os.environ.get("PULT_TRUSTED_PROXIES", "").split(",") if p.strip())
    )
    #: The address users open the app at (``https://pult.example.com``), when it has one: the
    #: allowed origin of browser requests, links in notifications, the Telegram webhook URL.
    public_url: str = field(default_factory=lambda: os.environ.get("PULT_PUBLIC_URL", "").rstrip("/"))
    #: Other origins allowed to call the API with the session cookie (comma-separated), e.g. a
    #: separate frontend in development. The app's own origin is always allowed.
    allowed_origins: tuple[str, ...] = field(
        default_factory=lambda: tuple(o.strip().rstrip("/") for o in os.environ.get("PULT_ALLOWED_ORIGINS", "").split(",") if o.strip())
    )
    #: Where files live that jobs produce (``jobs/<run id>/``) and uploads wait (``uploads/``).
    #: Default ``.data/`` in the repository; a deployment points it at a volume, the tests at a
    #: temporary folder of their own.
    files_dir: Path = field(default_factory=lambda: Path(os.environ.get("PULT_FILES_DIR") or ROOT / ".data").resolve())
    panels: tuple[str, ...] = field(
        default_factory=lambda: tuple(
            p.strip() for p in os.environ.get("PULT_PANELS", "stock,numbers,equipment").split(",") if p.strip()
        )
    )
    #: A session ends after this many minutes without a request ...
    session_idle_minutes: int = field(default_factory=lambda: int(os.environ.get("PULT_SESSION_IDLE_MINUTES", "120")))
    #: ... and in any case this many hours after login.
    session_absolute_hours: int = field(default_factory=lambda: int(os.environ.get("PULT_SESSION_ABSOLUTE_HOURS", "24")))
    #: Whether anyone may create an operator account at /register, until an admin decides on
    #: Administration → Security (the ``security.registration`` setting then wins). Off unless
    #: set: a new deployment is closed; the stock demo loader switches it on (seed 001, section 7).
    allow_registration: bool = field(default_factory=lambda: os.environ.get("PULT_ALLOW_REGISTRATION", "0").lower() in ("1", "true", "yes", "on"))
    #: Whether self-registered accounts wait for an admin to approve them and pick their role
    #: (initial value of the ``security.approval`` setting).
    registration_approval: bool = field(default_factory=lambda: os.environ.get("PULT_REGISTRATION_APPROVAL", "0").lower() in ("1", "true", "yes", "on"))
    #: Role given to self-registered users when no approval is required.
    registration_role: str = field(default_factory=lambda: os.environ.get("PULT_REGISTRATION_ROLE", "stock.user"))
    #: Registrations allowed per IP per hour.
    register_max_per_ip: int = 10
    # Sign-in throttling (docs/security.md, "Sign-in"). Three counters in Redis, checked and
    # incremented in one step before the password is verified:
    #: wrong passwords for one account from one client address within ``login_window_seconds``;
    #: then that address is locked out of that account for the rest of the window (the owner
    #: signing in from elsewhere is not);
    login_max_per_account: int = field(default_factory=lambda: int(os.environ.get("PULT_LOGIN_MAX_PER_ACCOUNT", "5")))
    #: wrong passwords from one client address (an IPv6 client: its /64) across all accounts;
    login_max_per_ip: int = field(default_factory=lambda: int(os.environ.get("PULT_LOGIN_MAX_PER_IP", "20")))
    login_window_seconds: int = field(default_factory=lambda: int(os.environ.get("PULT_LOGIN_WINDOW_SECONDS", str(15 * 60))))
    #: wrong passwords for one account from anywhere before each further attempt has to wait
    #: (1 s, 2 s, 4 s ... up to ``login_delay_max_seconds``; forgotten a day after the last one,
    #: cleared by a successful sign-in). Addresses the account signed in from before skip the wait.
    login_account_free_failures: int = field(default_factory=lambda: int(os.environ.get("PULT_LOGIN_ACCOUNT_FREE_FAILURES", "10")))
    login_delay_max_seconds: int = field(default_factory=lambda: int(os.environ.get("PULT_LOGIN_DELAY_MAX_SECONDS", "300")))
    login_account_window_seconds: int = 24 * 3600
    #: How long an address the account signed in from counts as the owner's.
    login_known_days: int = 30
    #: Telegram sends this in ``X-Telegram-Bot-Api-Secret-Token`` with every webhook call (the
    #: ``secret_token`` given to ``setWebhook``: 1-256 of ``A-Z a-z 0-9 _ -``). Empty: the webhook
    #: endpoint refuses every call.
    telegram_webhook_secret: str = field(default_factory=lambda: os.environ.get("PULT_TELEGRAM_WEBHOOK_SECRET", ""))
    #: The bot's token, used to answer button presses arriving at the webhook.
    telegram_bot_token: str = field(default_factory=lambda: os.environ.get("PULT_TELEGRAM_BOT_TOKEN", ""))
    #: Bot API base URL; empty means the official one (``integrations.telegram.DEFAULT_BASE_URL``).
    #: Point it at ``integrations/sandbox/telegram.py`` in development and tests.
    telegram_api_url: str = field(default_factory=lambda: os.environ.get("PULT_TELEGRAM_API_URL", ""))
    #: Map tiles for the map block (``app.core.ui.map``): a Leaflet URL template. The page's
    #: Content-Security-Policy allows images from its host (``{s}`` becomes ``*.``), and no other.
    map_tile_url: str = field(default_factory=lambda: os.environ.get("PULT_MAP_TILE_URL", "https://tile.openstreetmap.org/{z}/{x}/{y}.png"))
    map_attribution: str = field(default_factory=lambda: os.environ.get("PULT_MAP_ATTRIBUTION", "© OpenStreetMap contributors"))


settings = Settings()

#: The browser session cookie (HttpOnly; set only by an HTTP answer: ``app.core.api.set_session_cookie``).
SESSION_COOKIE = "pult_session"
