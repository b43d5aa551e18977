"""A detail page's related lists (``Resource.related``) offer "+ Создать" only to a user who may
create records of the related resource: decided on the server, in the state, from its ``can()``
(on the fixture panel: an item's deliveries and orders; the operator creates orders, not deliveries)."""

from __future__ import annotations

import pytest
import reflex as rx

from app.core import auth
from app.core.ui.base import AuthState
from app.core.ui.detail import DetailState
from tests.uistate import sign_in

pytestmark = pytest.mark.usefixtures("kitpanel")


def _detail(token: str, key: str, record_id: str) -> DetailState:
    root = rx.State(_reflex_internal_init=True)
    state = sign_in(root.substates[AuthState.get_name()].substates[DetailState.get_name()], token)
    state.res_key, state.record_id = key, record_id
    assert state._reload() is None
    return state


def test_related_create_only_where_the_user_may_create(db, users, kit_data):
    item = str(kit_data["cable"].id)
    manager = _detail(auth.login(db, "manager", "manager-pass"), "kitpanel.items", item)
    assert set(manager.related) == {"kitpanel.deliveries", "kitpanel.orders"}
    assert sorted(manager.related_create) == ["kitpanel.deliveries", "kitpanel.orders"]
    operator = _detail(auth.login(db, "user", "user-pass"), "kitpanel.items", item)
    assert set(operator.related) == {"kitpanel.deliveries", "kitpanel.orders"}  # both lists shown
    assert operator.related_create == ["kitpanel.orders"]  # but no "+ Создать" for a delivery


def test_the_create_link_follows_the_state():
    """The block's button is there only when the state names its resource (not on ``operations``
    alone, which said yes to every viewer)."""
    from app.core.registry import RESOURCES
    from app.core.ui.detail import _related_block

    res = RESOURCES["kitpanel.items"]
    rendered = str(_related_block(res, "kitpanel.deliveries", "kitpanel.deliveries", "item_id"))
    assert "related_create" in rendered and "related-create-kitpanel-deliveries" in rendered
