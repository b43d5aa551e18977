"""Notification channels are a registry (app.core.notify.CHANNELS): the kit brings in-app, the
built-in telegram panel adds Telegram, and a panel can add a channel of its own without the kit
knowing it. A rule naming a channel nobody registered notifies nobody on it (and does not fail the
change that raised the event); a user the channel cannot reach is skipped."""

from __future__ import annotations

import pytest
from sqlmodel import select

from app.core import notify
from app.core.resource import Choices
from app.panels.admin.resources import CHANNELS, Rules
from models.core import Notification, NotificationRule, User


@pytest.fixture()
def pager():
    sent: list[tuple[int, str, dict]] = []
    channel = notify.register_channel(notify.Channel(
        "pager", "field.name", deliver=lambda db, user, n: sent.append((user.id, n.title, n.data)),
        reaches=lambda user: user.full_name != "Nobody"))
    yield sent
    notify.CHANNELS.pop(channel.name)


def test_the_kit_knows_inapp_and_the_builtin_panel_adds_telegram():
    from app.boot import boot

    boot()
    assert list(notify.CHANNELS)[:2] == ["inapp", "telegram"]
    assert ("telegram", "channel.telegram") in notify.channel_choices()


def test_a_panels_channel_delivers_and_shows_in_the_rule_pickers(db, users, pager):
    db.add(NotificationRule(event="stock.low_stock", role="stock.manager", channel="pager"))
    db.add(NotificationRule(event="stock.low_stock", role="stock.manager", channel="inapp"))
    db.commit()
    created = notify.notify(db, "stock.low_stock", "Мало товара", "Осталось 2")
    db.commit()
    assert pager == [(users["manager"].id, "Мало товара", {"channel": "pager", "to": users["manager"].id})]
    # In-app wrote a row for the manager; the pager's delivery wrote none.
    assert users["manager"].id in [n.user_id for n in created]
    assert db.exec(select(Notification).where(Notification.user_id.is_(None))).all() == []
    # The rules resource reads the channels when asked, not when it was declared.
    assert isinstance(CHANNELS, Choices) and ("pager", "field.name") in list(CHANNELS)
    channel_field = next(f for s in Rules.form_sections() for f in s.fields if f.name == "channel")
    assert ("pager", "field.name") in list(channel_field.options)


def test_a_user_the_channel_cannot_reach_is_skipped(db, users, pager):
    manager = db.get(User, users["manager"].id)
    manager.full_name = "Nobody"
    db.add(NotificationRule(event="stock.low_stock", role="stock.manager", channel="pager"))
    db.commit()
    notify.notify(db, "stock.low_stock", "Мало товара")
    assert pager == []


def test_a_rule_for_an_unregistered_channel_notifies_nobody_there(db, users, caplog):
    db.add(NotificationRule(event="stock.low_stock", role="stock.manager", channel="carrier-pigeon"))
    db.add(NotificationRule(event="stock.low_stock", role="stock.manager", channel="inapp"))
    db.commit()
    created = notify.notify(db, "stock.low_stock", "Мало товара")
    db.commit()
    assert users["manager"].id in [n.user_id for n in created]
    assert "carrier-pigeon" in caplog.text
