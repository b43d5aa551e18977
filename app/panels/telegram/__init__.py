"""The built-in ``telegram`` panel: the bot's settings page, the webhook and the long-polling
receiver, the ``/start`` handler, and Telegram as a notification channel.

The kit ships it like any panel (``app.boot`` always enables it), in the shape of the numbers
panel's SoftPhone: a settings page with a check button, a signed endpoint for the provider
(``POST /api/integrations/telegram/webhook``), and what the rest of the house uses of it — here the
``telegram`` channel, registered with :func:`app.core.notify.register_channel`, so a notification
rule may name it. Panels add bot commands and button handlers with
:func:`app.panels.telegram.updates.on_command` / :func:`on_callback`.
"""

from app.core import notify
from app.core.registry import Panel, register
from app.panels.telegram import delivery
from app.panels.telegram import handlers as _handlers  # noqa: F401 - the kit's /start and the ping button
from app.panels.telegram import login as _login  # noqa: F401 - approve-login, /start's link code
from app.panels.telegram.bot import PERM
from app.panels.telegram.catalog import CATALOG
from app.panels.telegram.routes import SETTINGS
from app.panels.telegram.settings import TELEGRAM
from app.panels.telegram.webhook import telegram_router

notify.register_channel(notify.Channel("telegram", "channel.telegram", deliver=delivery.deliver,
                                       reaches=lambda user: bool(user.telegram_chat_id)))

PANEL = register(
    Panel(
        name="telegram",
        label="telegram.title",
        icon="send",
        # A declared Settings page (app/panels/telegram/settings.py); the web process builds it.
        pages=[TELEGRAM.page(SETTINGS, icon="send")],
        permissions=[PERM],
        root_routers=[telegram_router(), _login.link_router()],
        catalog=CATALOG,
    )
)
