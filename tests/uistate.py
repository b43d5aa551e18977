"""Helpers for tests that call Reflex event handlers directly."""

from __future__ import annotations

from typing import Any


def sign_in(state: Any, token: str, **headers: str) -> Any:
    """Give ``state`` (any state in a tree) the session cookie the way the app gets it: in the
    Cookie header of the page's WebSocket handshake (``router.headers``). Returns ``state``."""
    from reflex.istate.data import RouterData

    state.router = RouterData.from_router_data({"headers": {"cookie": f"pult_session={token}", **headers}})
    return state
