"""The kit's own bot handlers: ``/start`` tells a user their chat id (the admin links it to their
account), and the "ping" button of the settings page's test message proves that presses reach Pult.

Both are defaults: a panel registering ``/start`` (say, a link flow with a code) replaces the kit's.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Optional

from sqlmodel import Session

from app.core import bus
from app.core import db as dbm
from app.core.i18n import t
from app.panels.telegram.bot import put_setting
from app.panels.telegram.updates import CallbackContext, on_callback
from integrations.telegram import inline_keyboard
from models.core import Setting, User

PING_PREFIX = "kit:ping:"
#: ``{"user": username, "at": iso, "via": "webhook" | "polling"}`` of the last test-button press.
LAST_PING_KEY = "telegram.last_ping"


def ping_keyboard(user_id: int, lang: str) -> dict[str, Any]:
    """The button under the settings page's test message, addressed to ``user_id``'s chat."""
    return inline_keyboard([[(t("telegram.ping_button", lang), f"{PING_PREFIX}{user_id}")]])


def _linked_chat(ctx: CallbackContext) -> Optional[str]:
    """The chat of the Pult user the test message was sent to."""
    if not ctx.payload.isdigit():
        return None
    with dbm.session_scope() as db:
        user = db.get(User, int(ctx.payload))
        return user.telegram_chat_id if user is not None and user.is_active else None


@on_callback(PING_PREFIX, expect_chat=_linked_chat, default=True)
def ping(ctx: CallbackContext) -> str:
    """The admin pressed the test button: remember it (the settings page shows it live), say so."""
    with dbm.session_scope() as db:
        user = db.get(User, int(ctx.payload))
        value = {"user": user.username if user else "?", "at": dt.datetime.now(dt.timezone.utc).isoformat(), "via": ctx.source}
        put_setting(db, LAST_PING_KEY, value, "telegram")
        bus.mark(db, "setting", [LAST_PING_KEY], "update")
        db.commit()
    ctx.edit_text(t("telegram.ping_received", ctx.lang))
    return t("telegram.ping_answer", ctx.lang)


def last_ping(db: Session) -> Optional[dict[str, Any]]:
    """The last press of the test button (``user``, ``at``, ``via``), or None."""
    row = db.get(Setting, LAST_PING_KEY)
    return dict(row.value) if row is not None and isinstance(row.value, dict) else None


__all__ = ["PING_PREFIX", "LAST_PING_KEY", "ping", "ping_keyboard", "last_ping"]
