"""Logs: JSON lines with the request's context, plain text on request, and never a secret or a
phone number — the redaction filter is fed both and must let neither through."""

from __future__ import annotations

import io
import json
import logging

import pytest

from app.core import logs

SECRETS = [
    "s3cr3t-Passw0rd!",
    "9f8e7d6c5b4a39281706f5e4d3c2b1a0",            # a session token
    "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw",  # a Telegram bot token
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.sig-nature_x",
    "gAAAAABlZ3Jlc2VjcmV0LWVuY3J5cHRlZC12YWx1ZS0xMjM0NTY3ODkw",
    "pg-Pa55word",
    "ivan.petrov@example.ru",
]
PHONES = ["+7 (999) 123-45-67", "+79991234567", "8 999 123 45 67", "8-999-123-45-67", "89991234567", "+44 20 7946 0958"]


@pytest.fixture()
def capture():
    """``capture(fmt)`` → (logger, read) where read() returns what the handler wrote."""
    made = []

    def make(fmt: str = "json"):
        stream = io.StringIO()
        logger = logging.getLogger(f"pult.test.logs.{len(made)}")
        logger.propagate = False
        logger.setLevel(logging.DEBUG)
        handler = logs.make_handler(fmt, stream)
        logger.addHandler(handler)
        made.append((logger, handler))
        return logger, stream.getvalue if fmt == "text" else (lambda: [json.loads(x) for x in stream.getvalue().splitlines()])

    yield make
    for logger, handler in made:
        logger.removeHandler(handler)


def test_secrets_and_phone_numbers_never_reach_the_output(capture):
    logger, read = capture("json")
    logger.info("login with password=%s and Authorization: Bearer %s", SECRETS[0], SECRETS[1])
    logger.warning("telegram bot %s refused; jwt %s", SECRETS[2], SECRETS[3])
    logger.info("stored secret %s", SECRETS[4])
    logger.error("cannot connect to postgresql+psycopg://pult_app:%s@postgres:5432/pult", SECRETS[5])
    logger.info("payload %s", json.dumps({"token": SECRETS[1], "password": SECRETS[0], "phone": PHONES[0], "email": SECRETS[6]}))
    logger.info("call from %s to %s, then %s / %s / %s / %s", *PHONES)
    logger.info("query string ?api_key=%s&page=2", SECRETS[1])
    logger.info("GET /api/numbers/phones?phone=%%2B79991234567&page=1 and username=ivan.petrov")
    logger.info('HTTP Request: POST https://api.telegram.org/bot%s/sendMessage "HTTP/1.1 200 OK"', SECRETS[2])
    logger.info("settings %r", {"client_secret": SECRETS[0], "bot_token": SECRETS[2]})
    logger.info("user signed in", extra={"username": "ivan.petrov", "phone": PHONES[1], "password": SECRETS[0], "user_id": 42})
    try:
        raise ValueError(f"bad credentials password={SECRETS[0]} for {PHONES[4]}")
    except ValueError:
        logger.exception("sign-in failed")

    lines = read()
    text = json.dumps(lines, ensure_ascii=False)
    for secret in SECRETS:
        assert secret not in text, secret
    for phone in PHONES:
        assert phone not in text, phone
    assert "79991234567" not in text and "page=1" in text
    digits = {"".join(ch for ch in p if ch.isdigit()) for p in PHONES}
    for d in digits:
        assert d[-7:] not in "".join(ch for ch in text if ch.isdigit() or ch == " ").replace(" ", ""), d
    assert "ivan.petrov" not in text
    assert "***" in lines[0]["message"]
    signed_in = next(x for x in lines if x["message"] == "user signed in")
    assert signed_in["user_id"] == 42 and "username" not in signed_in and "phone" not in signed_in and "password" not in signed_in
    failed = next(x for x in lines if x["message"] == "sign-in failed")
    assert "Traceback" in failed["exc"] and "ValueError: bad credentials password=***" in failed["exc"]


def test_ordinary_values_are_kept(capture):
    logger, read = capture("json")
    logger.info("run 12345 finished in 3.25 s at 2026-12-07 06:37:01 from 203.0.113.5, request 0f9e8d7c, 200 rows, port 5432")
    [line] = read()
    assert line["message"] == "run 12345 finished in 3.25 s at 2026-12-07 06:37:01 from 203.0.113.5, request 0f9e8d7c, 200 rows, port 5432"
    assert line["level"] == "INFO" and line["logger"].startswith("pult.test.logs") and line["time"].endswith("Z")


def test_a_request_context_goes_on_every_line(capture):
    logger, read = capture("json")
    token = logs.bind(logs.RequestContext(request_id="req-0123456789", method="POST", route="/api/stock/products"))
    try:
        logs.set_user(7)
        logger.info("created")
    finally:
        logs.unbind(token)
    logger.info("outside")
    inside, outside = read()
    assert inside["request_id"] == "req-0123456789" and inside["route"] == "/api/stock/products"
    assert inside["user_id"] == 7 and inside["method"] == "POST"
    assert "request_id" not in outside and "user_id" not in outside


def test_plain_text_for_development(capture):
    logger, read = capture("text")
    token = logs.bind(logs.RequestContext(request_id="req-abcdef0123"))
    try:
        logger.warning("token=%s from %s", SECRETS[1], PHONES[0])
    finally:
        logs.unbind(token)
    out = read()
    assert "WARNING" in out and "[req-abcdef0123]" in out and "token=***" in out
    assert SECRETS[1] not in out and PHONES[0] not in out and not out.lstrip().startswith("{")


def test_configure_chooses_the_format_from_the_environment(monkeypatch):
    root = logging.getLogger()
    before = list(root.handlers), root.level
    try:
        monkeypatch.setenv("PULT_LOG_FORMAT", "json")
        logs.configure()
        ours = [h for h in root.handlers if getattr(h, "_pult", False)]
        assert len(ours) == 1 and isinstance(ours[0].formatter, logs.JsonFormatter)
        monkeypatch.setenv("PULT_LOG_FORMAT", "text")
        logs.configure()  # again: replaces, never stacks
        ours = [h for h in root.handlers if getattr(h, "_pult", False)]
        assert len(ours) == 1 and isinstance(ours[0].formatter, logs.TextFormatter)
    finally:
        for h in list(root.handlers):
            if h not in before[0]:
                root.removeHandler(h)
        root.setLevel(before[1])
