"""Fixtures for the integration clients: one Telegram sandbox (real sockets) for the session,
reset before each test, with a bot and a known chat."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

TOKEN = "123456789:AAHsandbox-secret-part_XYZ"
BOT_USERNAME = "pult_test_bot"
CHAT = 424242


@pytest.fixture(scope="session")
def tg_server():
    from integrations.sandbox.telegram import start_sandbox

    handle = start_sandbox(max_poll_timeout=3)
    yield handle
    handle.stop()


@pytest.fixture()
def sandbox(tg_server):
    """The sandbox, emptied, with bot ``TOKEN`` (@pult_test_bot) and private chat ``CHAT``."""
    tg_server.reset()
    tg_server.add_bot(TOKEN, BOT_USERNAME, "Pult")
    tg_server.add_chat(CHAT, username="ivanov", first_name="Иван")
    return tg_server


@pytest.fixture()
def bot(sandbox) -> Iterator:
    """A client of the sandbox bot that waits out short rate limits and backs off briefly."""
    from integrations.telegram import TelegramClient

    with TelegramClient(TOKEN, base_url=sandbox.url, max_retry_wait=3, backoff=0.01, timeout=5) as client:
        yield client
