"""The update dispatcher's registry (commands, plain messages, kit defaults a panel replaces) and the
settings page's way of waiting out a 429, against the sandbox."""

from __future__ import annotations


import pytest

from app.panels.telegram import updates as tu
from app.core.errors import PermissionDenied
from app.panels.telegram.bot import wait_out_rate_limit
from integrations.telegram import TelegramClient, TelegramRetryLater
from tests import aio
from tests.integrations.conftest import CHAT, TOKEN


def message_update(sandbox, text: str) -> tu.Update:
    return tu.Update.model_validate(sandbox.user_message(CHAT, text))


@pytest.fixture()
def registered():
    got: list[tuple[str, str]] = []

    @tu.on_command("order")
    def order(ctx: tu.MessageContext):
        got.append(("order", ctx.args))
        ctx.reply(f"Заказ {ctx.args}")

    @tu.on_command("fail")
    def fail(ctx: tu.MessageContext):
        raise PermissionDenied()

    @tu.on_message(lambda ctx: ctx.text.isdigit())
    def digits(ctx: tu.MessageContext):
        got.append(("digits", ctx.text))

    @tu.on_message()
    def anything(ctx: tu.MessageContext):
        got.append(("any", ctx.text))

    yield got
    tu.remove_command("order")
    tu.remove_command("fail")
    tu.remove_message_handler(digits)
    tu.remove_message_handler(anything)


def test_commands_and_plain_messages_reach_their_handlers(sandbox, bot, registered):
    assert tu.handle_message(message_update(sandbox, "/order@pult_test_bot 12 срочно"), bot) == 1
    assert tu.handle_message(message_update(sandbox, "12345"), bot) == 2  # every accepting handler
    assert tu.handle_message(message_update(sandbox, "привет"), bot) == 1
    assert tu.handle_message(message_update(sandbox, "/unknown"), bot) == 0
    assert registered == [("order", "12 срочно"), ("digits", "12345"), ("any", "12345"), ("any", "привет")]
    assert sandbox.sent(CHAT)[0]["text"] == "Заказ 12 срочно"

    tu.handle_message(message_update(sandbox, "/fail"), bot)  # the user reads why, in their language
    assert sandbox.sent(CHAT)[-1]["text"] == "Недостаточно прав"


def test_a_panel_replaces_a_kit_default_and_duplicates_are_refused(sandbox, bot):
    from app.panels.telegram import login as telegram_login  # the kit's /start (default=True): a link code and the chat id

    def panel_start(ctx):
        ctx.reply("панель")

    tu.on_command("start")(panel_start)
    try:
        tu.handle_message(message_update(sandbox, "/start CODE"), bot)
        assert sandbox.sent(CHAT)[-1]["text"] == "панель"
        with pytest.raises(ValueError, match="already registered"):
            tu.on_command("start")(lambda ctx: None)
        tu.on_command("start", default=True)(telegram_login.start)  # a kit default never wins over a panel
        assert tu._COMMANDS["start"].fn is panel_start
    finally:
        tu.remove_command("start")
        tu.on_command("start", default=True)(telegram_login.start)
    tu.handle_message(message_update(sandbox, "/start"), bot)
    assert str(CHAT) in sandbox.sent(CHAT)[-1]["text"]
    with pytest.raises(ValueError):
        tu.on_command("bad command")


def test_the_page_waits_out_a_429_and_says_so(sandbox):
    sandbox.force_429("getMe", times=2, retry_after=1)
    said: list[int] = []

    async def on_wait(seconds: int) -> None:
        said.append(seconds)

    with TelegramClient(TOKEN, base_url=sandbox.url, max_rate_limit_retries=0, max_attempts=1) as client:
        me = aio.run(wait_out_rate_limit(client.get_me, on_wait, max_wait=30))
    assert me["username"] == "pult_test_bot" and said == [1, 1]
    assert [c["status"] for c in sandbox.calls("getMe")] == [429, 429, 200]


def test_a_long_429_is_not_waited_for(sandbox):
    sandbox.force_429("getMe", times=1, retry_after=120)
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    async def on_wait(seconds: int) -> None:
        raise AssertionError("nothing to announce: the page says 'try later' instead")

    with TelegramClient(TOKEN, base_url=sandbox.url, max_rate_limit_retries=0, max_attempts=1) as client:
        with pytest.raises(TelegramRetryLater) as info:
            aio.run(wait_out_rate_limit(client.get_me, on_wait, max_wait=30, sleep=sleep))
    assert info.value.retry_after == 120 and slept == []
