"""A panel's Telegram handler for the poller tests, loaded by the poller subprocess through
``PULT_JOB_MODULES`` (the way a panel's module registers its handlers on import)."""

from __future__ import annotations

from app.core.redis import redis_client
from app.panels.telegram.updates import CallbackContext, on_callback

#: Redis list of the payloads the handler ran for, in order, one entry per run.
SEEN = "test:telegram:seen"


@on_callback("job:")
def record(ctx: CallbackContext) -> str:
    redis_client().rpush(SEEN, f"{ctx.payload}@{ctx.source}")
    return "ok"
