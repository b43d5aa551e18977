"""Forwarded headers are believed only from configured proxies (app.core.net)."""

from __future__ import annotations

import dataclasses

import pytest

from app.core import net


@pytest.fixture()
def proxies(monkeypatch):
    def use(*spec: str) -> None:
        monkeypatch.setattr(net, "settings", dataclasses.replace(net.settings, trusted_proxies=spec))

    return use


def test_headers_ignored_without_trusted_proxies(proxies):
    proxies()
    h = {"x-forwarded-for": "6.6.6.6", "x-forwarded-proto": "https"}
    assert net.client_ip("10.0.0.5", h) == "10.0.0.5"
    assert net.is_secure("http", "10.0.0.5", h) is False


def test_untrusted_peer_cannot_spoof(proxies):
    proxies("10.0.0.1")
    assert net.client_ip("203.0.113.9", {"x-forwarded-for": "1.2.3.4"}) == "203.0.113.9"
    assert net.is_secure("http", "203.0.113.9", {"x-forwarded-proto": "https"}) is False


def test_trusted_chain_read_from_the_right(proxies):
    proxies("10.0.0.0/8")
    # The client prepended a fake hop; the proxy appended the real client address.
    h = {"x-forwarded-for": "1.1.1.1, 198.51.100.7, 10.0.0.3"}
    assert net.client_ip("10.0.0.2", h) == "198.51.100.7"
    assert net.is_secure("http", "10.0.0.2", {"x-forwarded-proto": "https"}) is True


def test_garbage_from_a_proxy_keeps_the_peer(proxies):
    proxies("127.0.0.1")
    assert net.client_ip("127.0.0.1", {"x-forwarded-for": "not-an-ip"}) == "127.0.0.1"
    assert net.client_ip("127.0.0.1", {}) == "127.0.0.1"


def test_bad_setting_is_named(proxies):
    proxies("nonsense")
    with pytest.raises(ValueError, match="PULT_TRUSTED_PROXIES"):
        net.client_ip("127.0.0.1", {})
