"""A local Yandex Delivery (claims API v2) server for tests and development.

It speaks the protocol of https://yandex.ru/support/delivery-profile/ru/api/express/: ``POST
/b2b/cargo/integration/v2/<method>`` with ``Authorization: Bearer <token>`` (anything else: 401),
the claim id / ``request_id`` in the query string, JSON bodies, and errors as ``{"code",
"message"}`` with the documented codes and HTTP statuses. Implemented: claims/create (validated;
idempotent on ``request_id``: the same id returns the same claim whatever the body),
claims/info, claims/accept (``version``, the 10-minute offer), claims/cancel-info, claims/cancel
(free/paid, refused when the state does not allow it), check-price, tariffs, claims/journal
(cursor, limit).

Claims walk the documented status model. Nothing moves by itself unless ``tick_interval`` is set:
tests move claims with the hooks (or the ``/sandbox/`` control API of a standalone server)::

    sandbox = start_sandbox()                       # own thread, free port
    sandbox.add_token("y0_test")                    # calls with another token: 401
    client = YandexDeliveryClient("y0_test", base_url=sandbox.url)
    claim = client.create_claim("req-1", body)      # status new
    sandbox.advance(claim["id"])                    # → estimating → ready_for_approval (then waits for accept)
    client.accept_claim(claim["id"], 1)             # → accepted
    sandbox.advance(claim["id"], to="delivered_finish")   # every status on the way, one by one
    sandbox.start_return(claim_id)                  # from pickuped…delivered-arrival: the return branch
    sandbox.set_status(claim_id, "performer_not_found")   # any documented status
    sandbox.fail_next("claims/create", status=500, after_commit=True)   # stored, then answers 500
    sandbox.fail_next("claims/info", status=429, retry_after=1)
    sandbox.tick()                                  # every live claim one step (what tick_interval does)

Standalone (for the app run by hand or by browser tests in another process)::

    python -m integrations.sandbox.yandex_delivery --port 8082 --token y0_sandbox --tick 5
"""

from __future__ import annotations

import argparse
import base64
import copy
import itertools
import json
import math
import re
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from integrations.sandbox.server import ServedApp, serve

PREFIX = "/b2b/cargo/integration/v2"

#: The main walk (claim-process), each step one ``advance``.
WALK: tuple[str, ...] = (
    "new", "estimating", "ready_for_approval", "accepted", "performer_lookup", "performer_draft",
    "performer_found", "pickup_arrived", "ready_for_pickup_confirmation", "pickuped", "delivery_arrived",
    "ready_for_delivery_confirmation", "delivered", "delivered_finish",
)
RETURN_WALK: tuple[str, ...] = ("returning", "return_arrived", "ready_for_return_confirmation", "returned", "returned_finish")
ALL_STATUSES: tuple[str, ...] = WALK + RETURN_WALK + (
    "estimating_failed", "performer_not_found", "pay_waiting", "failed", "cancelled", "cancelled_with_payment",
    "cancelled_by_taxi", "cancelled_with_items_on_hands",
)
TERMINAL = frozenset({"delivered_finish", "returned_finish", "failed", "performer_not_found", "cancelled",
                      "cancelled_with_payment", "cancelled_by_taxi", "cancelled_with_items_on_hands"})
#: Where a return may start from (the goods are on the courier).
RETURNABLE = frozenset({"pickuped", "delivery_arrived", "ready_for_delivery_confirmation"})
FREE_CANCEL = frozenset({"new", "estimating", "estimating_failed", "ready_for_approval", "accepted", "performer_lookup",
                         "performer_draft", "performer_found"})
PAID_CANCEL = frozenset({"pickup_arrived", "ready_for_pickup_confirmation"})
TAXI_CLASSES = ("courier", "express", "cargo")
CARGO_TYPES = ("van", "lcv_m", "lcv_l", "lcv_xl")
#: Price model of the sandbox: base + per km, roubles.
TARIFF_PRICES = {"courier": (150, 20), "express": (250, 30), "cargo": (600, 55)}
CURRENCY_RULES = {"code": "RUB", "text": "руб.", "template": "$VALUE$ $SIGN$$CURRENCY$", "sign": "₽"}
_PHONE_RE = re.compile(r"^[0-9 ()\-+]+$")
_MONEY_RE = re.compile(r"^[0-9]+(\.[0-9]{1,2})?$")

UNAUTHORIZED = {"code": "unauthorized", "message": "Not authorized request"}
NOT_FOUND = {"code": "not_found", "message": "Заявка не найдена"}
TOO_MANY = {"code": "too_many_requests", "message": "Слишком много запросов"}
INTERNAL = {"code": "internal_error", "message": "Internal server error"}


class ApiError(Exception):
    """A refused call: HTTP ``status`` and the ``{"code","message"}`` body."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def body(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


def _invalid(path: str, what: str) -> ApiError:
    return ApiError(400, "validation_error", f"{path}: {what}")


def _now_iso(ts: float | None = None) -> str:
    return datetime.fromtimestamp(ts if ts is not None else time.time(), tz=timezone.utc).isoformat(timespec="seconds")


def _haversine_m(a: list[float], b: list[float]) -> float:
    lon1, lat1, lon2, lat2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6_371_000 * math.asin(math.sqrt(h))


@dataclass
class _Forced:
    status: int
    after_commit: bool
    retry_after: float | None


@dataclass
class _Claim:
    id: str
    corp_client_id: str
    request_id: str
    body: dict[str, Any]
    route_points: list[dict[str, Any]]
    status: str = "new"
    version: int = 1
    revision: int = 1
    created: float = field(default_factory=time.time)
    updated: float = field(default_factory=time.time)
    status_changed: float = field(default_factory=time.time)
    offer_price: str | None = None
    offer_id: str | None = None
    offer_at: float | None = None
    final_price: str | None = None
    distance_m: float = 0.0


class YandexDeliverySandbox:
    """The fake claims API: state, test hooks and the Starlette app (``.app``). Thread-safe."""

    def __init__(self, *, offer_ttl: float = 600.0, auto_estimate: bool = False) -> None:
        #: Seconds an estimate (``ready_for_approval``) may be accepted in; later accept → failed.
        self.offer_ttl = offer_ttl
        #: Estimate at once on create (new → estimating → ready_for_approval) instead of on advance.
        self.auto_estimate = auto_estimate
        self._lock = threading.RLock()
        self.reset()
        self.app = Starlette(routes=[
            *[Route(f"{PREFIX}/{name}", self._endpoint(name, fn), methods=["POST"]) for name, fn in {
                "claims/create": self._create,
                "claims/info": self._info,
                "claims/accept": self._accept,
                "claims/cancel-info": self._cancel_info,
                "claims/cancel": self._cancel,
                "check-price": self._check_price,
                "tariffs": self._tariffs,
                "claims/journal": self._journal,
            }.items()],
            *control_routes(self),
            Route("/{path:path}", self._not_found, methods=["GET", "POST", "PUT", "DELETE", "PATCH"]),
        ])

    # ------------------------------------------------------------------ test hooks
    def reset(self) -> None:
        """Forget every token, claim, journal event, forced failure and call."""
        with self._lock:
            self._tokens: dict[str, str] = {}
            self._claims: dict[str, _Claim] = {}
            self._by_request: dict[tuple[str, str], str] = {}
            self._events: list[dict[str, Any]] = []
            self._operation_ids = itertools.count(1)
            self._forced: dict[str, deque[_Forced]] = {}
            self._calls: list[dict[str, Any]] = []

    def add_token(self, token: str, corp_client_id: str | None = None) -> str:
        """Accept ``token``; its claims belong to ``corp_client_id`` (made up when not given). Returns the id."""
        with self._lock:
            self._tokens[token] = corp_client_id or uuid.uuid4().hex
            return self._tokens[token]

    def claims(self) -> list[dict[str, Any]]:
        """Every stored claim as ``claims/info`` would show it, oldest first."""
        with self._lock:
            return [self._view(c) for c in sorted(self._claims.values(), key=lambda c: c.created)]

    def claim(self, claim_id: str) -> dict[str, Any]:
        with self._lock:
            return self._view(self._get(claim_id))

    def calls(self, method: str | None = None) -> list[dict[str, Any]]:
        """Every API call received: ``method`` (e.g. ``claims/create``), ``query``, ``body``,
        ``status``, ``accept_language``, ``authorized``."""
        with self._lock:
            return [copy.deepcopy(c) for c in self._calls if method is None or c["method"] == method]

    def fail_next(self, method: str, *, status: int = 500, times: int = 1, after_commit: bool = False,
                  retry_after: float | None = None) -> None:
        """Make the next ``times`` calls of ``method`` answer ``status`` (429 or 5xx).

        ``after_commit=True``: the call is carried out first (a claim created, accepted, …) and
        only the answer is lost — the case idempotency exists for. ``retry_after`` adds the
        ``Retry-After`` header.
        """
        if status != 429 and status < 500:
            raise ValueError("fail_next forces 429 or 5xx answers")
        with self._lock:
            self._forced.setdefault(method.strip("/"), deque()).extend(
                _Forced(status, after_commit, retry_after) for _ in range(times))

    def advance(self, claim_id: str, to: str | None = None) -> list[str]:
        """Move a claim one step along its walk (or step by step until status ``to``); every step
        is a journal event. Returns the statuses passed. ``ready_for_approval`` waits for
        claims/accept: advancing past it without an accept is refused (``ValueError``)."""
        with self._lock:
            c = self._get(claim_id)
            passed: list[str] = []
            while True:
                nxt = self._next_status(c)
                if nxt is None:
                    if to is None or c.status == to:
                        break
                    raise ValueError(f"claim {claim_id} cannot move from {c.status} towards {to}")
                self._set(c, nxt)
                passed.append(nxt)
                if to is None or nxt == to:
                    break
            return passed

    def start_return(self, claim_id: str) -> None:
        """The recipient did not take the goods: from pickuped … ready_for_delivery_confirmation to returning."""
        with self._lock:
            c = self._get(claim_id)
            if c.status not in RETURNABLE:
                raise ValueError(f"claim {claim_id} is {c.status}: a return starts after pickup and before delivery")
            self._set(c, "returning")

    def set_status(self, claim_id: str, status: str) -> None:
        """Put a claim in any documented status (failures, courier cancel, …), as a journal event."""
        if status not in ALL_STATUSES:
            raise ValueError(f"unknown claim status {status!r}")
        with self._lock:
            self._set(self._get(claim_id), status)

    def tick(self) -> int:
        """Advance every live claim one step (claims waiting for accept stay). Returns how many moved."""
        with self._lock:
            moved = 0
            for c in list(self._claims.values()):
                if self._next_status(c) is not None:
                    self._set(c, self._next_status(c))
                    moved += 1
            return moved

    # ------------------------------------------------------------------ state
    def _get(self, claim_id: str) -> _Claim:
        c = self._claims.get(claim_id)
        if c is None:
            raise ValueError(f"no claim {claim_id}")
        return c

    @staticmethod
    def _next_status(c: _Claim) -> str | None:
        if c.status in TERMINAL or c.status == "ready_for_approval":
            return None
        for walk in (WALK, RETURN_WALK):
            if c.status in walk:
                i = walk.index(c.status)
                return walk[i + 1] if i + 1 < len(walk) else None
        return None

    def _set(self, c: _Claim, status: str) -> None:
        now = time.time()
        c.status, c.status_changed, c.updated = status, now, now
        c.revision += 1
        if status == "ready_for_approval":
            c.offer_id, c.offer_at = uuid.uuid4().hex, now
            c.offer_price = self._price(c.body.get("client_requirements") or {}, c.distance_m)
        if status in ("delivered_finish", "returned_finish"):
            c.final_price = c.offer_price
        self._event(c, "status_changed")
        if status == "ready_for_approval":
            self._event(c, "price_changed")

    def _event(self, c: _Claim, change_type: str) -> None:
        event: dict[str, Any] = {
            "operation_id": next(self._operation_ids),
            "claim_id": c.id,
            "change_type": change_type,
            "updated_ts": _now_iso(c.updated),
            "revision": c.revision,
            "client_id": c.corp_client_id,
            "current_point_id": self._current_point(c)["id"],
        }
        if change_type == "status_changed":
            event["new_status"] = c.status
            if c.status in TERMINAL:
                event["resolution"] = "success" if c.status == "delivered_finish" else "failed"
        else:
            event["new_price"] = c.offer_price
            event["new_currency"] = "RUB"
        self._events.append(event)

    @staticmethod
    def _current_point(c: _Claim) -> dict[str, Any]:
        before_pickup = WALK.index("pickuped")
        i = WALK.index(c.status) if c.status in WALK else None
        if c.status in RETURN_WALK:
            return c.route_points[-1]
        return c.route_points[0] if i is None or i < before_pickup else c.route_points[1]

    @staticmethod
    def _price(requirements: dict[str, Any], distance_m: float) -> str:
        base, per_km = TARIFF_PRICES.get(requirements.get("taxi_class") or "express", TARIFF_PRICES["express"])
        bump = {"van": 0, "lcv_m": 300, "lcv_l": 700, "lcv_xl": 1200}.get(requirements.get("cargo_type") or "", 0)
        return f"{base + bump + per_km * distance_m / 1000:.2f}"

    def _view(self, c: _Claim) -> dict[str, Any]:
        """The claims/info (and claims/create) answer."""
        points = copy.deepcopy(c.route_points)
        current = self._current_point(c)["id"]
        for p in points:
            if p["type"] == "source":
                p["visit_status"] = "visited" if c.status in WALK[WALK.index("pickuped"):] + RETURN_WALK else (
                    "arrived" if c.status in ("pickup_arrived", "ready_for_pickup_confirmation") else "pending")
            elif p["type"] == "destination":
                p["visit_status"] = "visited" if c.status in ("delivered", "delivered_finish") else (
                    "arrived" if c.status in ("delivery_arrived", "ready_for_delivery_confirmation") else
                    "skipped" if c.status in RETURN_WALK else "pending")
            else:
                p["visit_status"] = "visited" if c.status in ("returned", "returned_finish") else "pending"
        pricing: dict[str, Any] = {"currency": "RUB", "currency_rules": dict(CURRENCY_RULES)}
        if c.offer_price is not None:
            pricing["offer"] = {"offer_id": c.offer_id, "price": c.offer_price, "price_with_vat": c.offer_price,
                                "valid_until": _now_iso((c.offer_at or 0) + self.offer_ttl)}
        if c.final_price is not None:
            pricing["final_price"] = c.final_price
        req = c.body.get("client_requirements") or {"taxi_class": "express"}
        out: dict[str, Any] = {
            "id": c.id,
            "corp_client_id": c.corp_client_id,
            "items": copy.deepcopy(c.body["items"]),
            "route_points": points,
            "current_point_id": current,
            "status": c.status,
            "version": c.version,
            "revision": c.revision,
            "user_request_revision": str(c.version),
            "skip_door_to_door": bool(c.body.get("skip_door_to_door", False)),
            "skip_client_notify": bool(c.body.get("skip_client_notify", False)),
            "skip_emergency_notify": bool(c.body.get("skip_emergency_notify", False)),
            "skip_act": bool(c.body.get("skip_act", False)),
            "optional_return": bool(c.body.get("optional_return", False)),
            "created_ts": _now_iso(c.created),
            "updated_ts": _now_iso(c.updated),
            "last_status_change_ts": _now_iso(c.status_changed),
            "pricing": pricing,
            "client_requirements": copy.deepcopy(req),
            "matched_cars": [{k: v for k, v in req.items() if k in ("taxi_class", "cargo_type", "cargo_loaders")}],
            "eta": max(5, round(c.distance_m / 1000 / 30 * 60)) if c.distance_m else 10,
        }
        if c.status == "estimating_failed":
            out["error_messages"] = [{"code": "estimating.failed", "message": "Не удалось оценить заявку"}]
        if c.status in WALK[WALK.index("performer_found"):] + RETURN_WALK:
            out["performer_info"] = {
                "courier_name": "Пётр Курьеров", "legal_name": "ИП Курьеров П.", "car_model": "Hyundai Solaris",
                "car_number": "А100РА77", "car_color": "белый", "car_color_hex": "FFFFFF",
                "transport_type": "car",
            }
        for key in ("comment", "callback_properties", "emergency_contact", "due", "shipping_document"):
            if key in c.body:
                out[key] = copy.deepcopy(c.body[key])
        return out

    # ------------------------------------------------------------------ HTTP
    def _endpoint(self, name: str, fn: Any) -> Any:
        async def endpoint(request: Request) -> JSONResponse:
            raw = await request.body()
            record: dict[str, Any] = {
                "method": name, "query": dict(request.query_params), "body": None, "status": None,
                "accept_language": request.headers.get("accept-language"), "authorized": False,
            }
            try:
                auth = request.headers.get("authorization", "")
                scheme, _, token = auth.partition(" ")
                with self._lock:
                    client_id = self._tokens.get(token.strip()) if scheme.lower() == "bearer" else None
                if client_id is None:
                    raise ApiError(401, UNAUTHORIZED["code"], UNAUTHORIZED["message"])
                record["authorized"] = True
                try:
                    body = json.loads(raw) if raw.strip() else {}
                except ValueError:
                    raise ApiError(400, "bad_request", "Неправильное тело запроса") from None
                if not isinstance(body, dict):
                    raise ApiError(400, "bad_request", "Неправильное тело запроса")
                record["body"] = body
                with self._lock:
                    forced = self._forced.get(name)
                    force = forced.popleft() if forced else None
                if force is not None and not force.after_commit:
                    return self._forced_answer(force, record)
                with self._lock:
                    result = fn(client_id, dict(request.query_params), body)
                if force is not None:
                    return self._forced_answer(force, record)
                record["status"] = 200
                return JSONResponse(result)
            except ApiError as e:
                record["status"] = e.status
                return JSONResponse(e.body(), status_code=e.status)
            finally:
                with self._lock:
                    self._calls.append(record)

        return endpoint

    @staticmethod
    def _forced_answer(force: _Forced, record: dict[str, Any]) -> JSONResponse:
        record["status"] = force.status
        headers = {"Retry-After": f"{force.retry_after:g}"} if force.retry_after is not None else None
        return JSONResponse(TOO_MANY if force.status == 429 else INTERNAL, status_code=force.status, headers=headers)

    async def _not_found(self, request: Request) -> JSONResponse:
        return JSONResponse({"code": "not_found", "message": f"No handler for {request.method} {request.url.path}"}, status_code=404)

    def _owned(self, client_id: str, query: dict[str, str]) -> _Claim:
        claim_id = query.get("claim_id", "")
        if not 32 <= len(claim_id) <= 64:
            raise ApiError(400, "bad_request", "claim_id: ожидается строка длиной от 32 до 64 символов")
        c = self._claims.get(claim_id)
        if c is None or c.corp_client_id != client_id:
            raise ApiError(404, NOT_FOUND["code"], NOT_FOUND["message"])
        return c

    # -- methods
    def _create(self, client_id: str, query: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
        request_id = query.get("request_id", "")
        if not 1 <= len(request_id) <= 128:
            raise ApiError(400, "bad_request", "request_id: обязательный параметр (от 1 до 128 символов)")
        existing = self._by_request.get((client_id, request_id))
        if existing is not None:  # idempotency: the old claim, whatever the body says now
            return self._view(self._claims[existing])
        points = _validate_claim(body)
        c = _Claim(id=uuid.uuid4().hex, corp_client_id=client_id, request_id=request_id, body=copy.deepcopy(body),
                   route_points=points)
        coords = [p["address"]["coordinates"] for p in points if p["type"] != "return" and "coordinates" in p["address"]]
        c.distance_m = sum(_haversine_m(a, b) for a, b in zip(coords, coords[1:])) * 1.3
        self._claims[c.id] = c
        self._by_request[(client_id, request_id)] = c.id
        self._event(c, "status_changed")
        view = self._view(c)  # the create answer is the claim as stored, before any estimate
        if self.auto_estimate:
            self._set(c, "estimating")
            self._set(c, "ready_for_approval")
        return view

    def _info(self, client_id: str, query: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
        return self._view(self._owned(client_id, query))

    def _version(self, body: dict[str, Any]) -> int:
        version = body.get("version")
        if not isinstance(version, int) or isinstance(version, bool):
            raise ApiError(400, "bad_request", "version: обязательное целое число")
        return version

    def _accept(self, client_id: str, query: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
        c = self._owned(client_id, query)
        version = self._version(body)
        if c.status != "ready_for_approval":
            raise ApiError(409, "inappropriate_status", "Недопустимое действие над заявкой")
        if version != c.version:
            raise ApiError(409, "old_version", "Версия заявки устарела, запросите информацию по заявке")
        if c.offer_at is not None and time.time() - c.offer_at > self.offer_ttl:
            self._set(c, "failed")
            raise ApiError(409, "offer_expired", "Предложение устарело, создайте новую заявку")
        self._set(c, "accepted")
        return {"id": c.id, "status": c.status, "version": c.version, "user_request_revision": str(c.version),
                "skip_client_notify": bool(c.body.get("skip_client_notify", False))}

    @staticmethod
    def _cancel_state(c: _Claim) -> str:
        return "free" if c.status in FREE_CANCEL else "paid" if c.status in PAID_CANCEL else "unavailable"

    def _cancel_info(self, client_id: str, query: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
        c = self._owned(client_id, query)
        state = self._cancel_state(c)
        out: dict[str, Any] = {"cancel_state": state}
        if state == "paid":
            price = float(c.offer_price or 0) * 0.5
            out.update(price=f"{price:.2f}", price_with_vat=f"{price:.2f}", currency="RUB")
        return out

    def _cancel(self, client_id: str, query: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
        c = self._owned(client_id, query)
        version = self._version(body)
        asked = body.get("cancel_state")
        if asked not in ("free", "paid"):
            raise ApiError(400, "bad_request", "cancel_state: ожидается free или paid")
        state = self._cancel_state(c)
        if state == "unavailable":
            raise ApiError(409, "inappropriate_status", "Недопустимое действие над заявкой")
        if version != c.version:
            raise ApiError(409, "state_mismatch", "Версия заявки устарела, запросите информацию по заявке")
        if asked == "free" and state == "paid":
            raise ApiError(409, "free_cancel_is_unavailable", "Бесплатная отмена недоступна: курьер уже прибыл")
        if asked == "paid" and state == "free":
            raise ApiError(409, "state_mismatch", "Отмена сейчас бесплатная: передайте cancel_state free")
        self._set(c, "cancelled" if asked == "free" else "cancelled_with_payment")
        return {"id": c.id, "status": c.status, "version": c.version, "user_request_revision": str(c.version),
                "skip_client_notify": bool(c.body.get("skip_client_notify", False))}

    def _check_price(self, client_id: str, query: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
        items = body.get("items")
        if not isinstance(items, list) or not items:
            raise _invalid("items", "нужен хотя бы один товар")
        for i, it in enumerate(items):
            if not isinstance(it, dict):
                raise _invalid(f"items[{i}]", "ожидается объект")
            _check_quantity(it, f"items[{i}]")
            _check_size_weight(it, f"items[{i}]")
        points = body.get("route_points")
        if not isinstance(points, list) or len(points) < 1:
            raise _invalid("route_points", "нужна хотя бы одна точка")
        coords = [_check_coordinates(p.get("coordinates") if isinstance(p, dict) else None, f"route_points[{i}].coordinates")
                  for i, p in enumerate(points)]
        requirements = body.get("requirements") or {"taxi_class": "express"}
        _check_requirements(requirements, "requirements")
        distance = sum(_haversine_m(a, b) for a, b in zip(coords, coords[1:])) * 1.3
        return {
            "price": self._price(requirements, distance),
            "currency_rules": dict(CURRENCY_RULES),
            "requirements": copy.deepcopy(requirements),
            "distance_meters": round(distance, 1),
            "eta": max(5, round(distance / 1000 / 30 * 60)),
            "zone_id": "moscow",
        }

    def _tariffs(self, client_id: str, query: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
        _check_coordinates(body.get("start_point"), "start_point")
        cargo_type = {"name": "cargo_type", "title": "Кузов", "text": "Требования к габаритам автомобиля", "type": "select",
                      "required": True, "options": [
                          {"title": "Маленький кузов", "text": "длина 170 см, ширина 96 см, высота 90 см", "value": "van"},
                          {"title": "Средний кузов", "text": "длина 260 см, ширина 130 см, высота 150 см", "value": "lcv_m"},
                          {"title": "Большой кузов", "text": "длина 380 см, ширина 180 см, высота 180 см", "value": "lcv_l"}]}
        loaders = {"name": "cargo_loaders", "title": "Грузчики", "text": "Количество грузчиков", "type": "select",
                   "required": False, "options": [{"title": str(n), "text": str(n), "value": n} for n in (0, 1, 2)]}
        options = {"name": "cargo_options", "title": "Опции", "text": "Дополнительные опции", "type": "multi_select",
                   "required": False, "options": [{"title": "Автокурьер", "text": "Курьер только на автомобиле", "value": "auto_courier"},
                                                  {"title": "Термосумка", "text": "Курьер с термосумкой", "value": "thermobag"}]}
        return {"available_tariffs": [
            {"name": "courier", "title": "Курьер", "text": "До 10 кг, 80×50×50 см", "minimal_price": TARIFF_PRICES["courier"][0],
             "supported_requirements": [options]},
            {"name": "express", "title": "Экспресс", "text": "Легковой автомобиль: до 20 кг, 100×60×50 см",
             "minimal_price": TARIFF_PRICES["express"][0], "supported_requirements": [options]},
            {"name": "cargo", "title": "Грузовой", "text": "Грузовой автомобиль до 1400 кг",
             "minimal_price": TARIFF_PRICES["cargo"][0], "supported_requirements": [cargo_type, loaders]},
        ]}

    def _journal(self, client_id: str, query: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
        limit_raw = query.get("limit", "1000")
        try:
            limit = int(limit_raw)
        except ValueError:
            raise ApiError(400, "unknown_error", "limit: ожидается целое число") from None
        if not 1 <= limit <= 1000:
            raise ApiError(400, "unknown_error", "limit: от 1 до 1000")
        after = 0
        cursor = body.get("cursor")
        if cursor is not None:
            try:
                decoded = json.loads(base64.urlsafe_b64decode(str(cursor).encode()).decode())
                after = int(decoded["after"])
            except Exception:
                raise ApiError(400, "invalid_cursor", "Неправильный формат cursor") from None
        mine = [e for e in self._events if e["client_id"] == client_id and e["operation_id"] > after][:limit]
        last = mine[-1]["operation_id"] if mine else after
        token = base64.urlsafe_b64encode(json.dumps({"after": last}).encode()).decode()
        return {"cursor": token, "events": copy.deepcopy(mine)}


# --------------------------------------------------------------------------- validation
def _check_quantity(it: dict[str, Any], path: str) -> None:
    q = it.get("quantity")
    if not isinstance(q, int) or isinstance(q, bool) or q < 1:
        raise _invalid(f"{path}.quantity", "ожидается целое число не меньше 1")


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _check_size_weight(it: dict[str, Any], path: str) -> None:
    size = it.get("size")
    if size is not None:
        if not isinstance(size, dict):
            raise _invalid(f"{path}.size", "ожидается объект length/width/height")
        for k in ("length", "width", "height"):
            if not _number(size.get(k)) or not 0 <= size[k] <= 500:
                raise _invalid(f"{path}.size.{k}", "ожидается число метров от 0 до 500")
    if "weight" in it and (not _number(it["weight"]) or not 0 <= it["weight"] <= 500000):
        raise _invalid(f"{path}.weight", "ожидается число килограммов от 0 до 500000")


def _check_coordinates(value: Any, path: str) -> list[float]:
    if not isinstance(value, list) or len(value) != 2 or not all(_number(v) for v in value):
        raise _invalid(path, "ожидается массив [долгота, широта]")
    lon, lat = value
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise _invalid(path, "координаты вне допустимого диапазона (долгота, широта)")
    return [float(lon), float(lat)]


def _check_requirements(req: Any, path: str) -> None:
    if not isinstance(req, dict):
        raise _invalid(path, "ожидается объект")
    if req.get("taxi_class") not in TAXI_CLASSES:
        raise _invalid(f"{path}.taxi_class", f"ожидается одно из: {', '.join(TAXI_CLASSES)}")
    if "cargo_type" in req and req["cargo_type"] not in CARGO_TYPES:
        raise _invalid(f"{path}.cargo_type", f"ожидается одно из: {', '.join(CARGO_TYPES)}")
    if req.get("taxi_class") != "cargo" and "cargo_type" in req:
        raise _invalid(f"{path}.cargo_type", "тип кузова задаётся только для тарифа cargo")


def _validate_claim(body: dict[str, Any]) -> list[dict[str, Any]]:
    """Check a claims/create body as the documentation describes it; returns the stored route points."""
    items = body.get("items")
    if not isinstance(items, list) or not items:
        raise _invalid("items", "нужен хотя бы один товар")
    points = body.get("route_points")
    if not isinstance(points, list) or len(points) < 2:
        raise ApiError(400, "unsupported_points_count", "В заявке должно быть не меньше двух точек маршрута")
    if len(points) > 300:
        raise ApiError(400, "unsupported_points_count", "В заявке не больше 300 точек маршрута")
    ids: dict[int, str] = {}
    for i, p in enumerate(points):
        path = f"route_points[{i}]"
        if not isinstance(p, dict):
            raise _invalid(path, "ожидается объект")
        pid = p.get("point_id")
        if not isinstance(pid, int) or isinstance(pid, bool):
            raise _invalid(f"{path}.point_id", "обязательное целое число")
        if pid in ids:
            raise _invalid(f"{path}.point_id", "point_id повторяется")
        if not isinstance(p.get("visit_order"), int):
            raise _invalid(f"{path}.visit_order", "обязательное целое число")
        if p.get("type") not in ("source", "destination", "return"):
            raise _invalid(f"{path}.type", "ожидается source, destination или return")
        ids[pid] = p["type"]
        contact = p.get("contact")
        if not isinstance(contact, dict) or not str(contact.get("name") or "").strip():
            raise _invalid(f"{path}.contact.name", "обязательное поле")
        phone = contact.get("phone")
        if not isinstance(phone, str) or not phone.strip():
            raise _invalid(f"{path}.contact.phone", "обязательное поле")
        if not _PHONE_RE.match(phone):
            raise ApiError(400, "invalid_phone_incorrect_symbol", f"Телефон {phone!r} содержит недопустимые символы")
        if not phone.startswith("+"):
            raise ApiError(400, "invalid_phone_must_start_plus_symbol", f"Телефон {phone} должен начинаться с «+»")
        digits = re.sub(r"\D", "", phone)
        if not 10 <= len(digits) <= 15:
            raise ApiError(400, "invalid_phone_size_incorrect", f"Неверная длина номера телефона {phone}")
        address = p.get("address")
        if not isinstance(address, dict) or not str(address.get("fullname") or "").strip():
            raise _invalid(f"{path}.address.fullname", "обязательное поле: полный адрес с городом, улицей и домом")
        if "coordinates" in address:
            _check_coordinates(address["coordinates"], f"{path}.address.coordinates")
    types = list(ids.values())
    if types.count("source") != 1:
        raise ApiError(400, "invalid_source_point", "В заявке должна быть ровно одна точка отправления (source)")
    if "destination" not in types:
        raise ApiError(400, "invalid_destination_point", "В заявке нет точки назначения (destination)")
    for i, it in enumerate(items):
        path = f"items[{i}]"
        if not isinstance(it, dict):
            raise _invalid(path, "ожидается объект")
        if not str(it.get("title") or "").strip():
            raise _invalid(f"{path}.title", "обязательное поле")
        _check_quantity(it, path)
        if not isinstance(it.get("cost_value"), str) or not _MONEY_RE.match(it["cost_value"]):
            raise _invalid(f"{path}.cost_value", "ожидается строка вида 2.00")
        if not isinstance(it.get("cost_currency"), str) or len(it["cost_currency"]) != 3:
            raise _invalid(f"{path}.cost_currency", "ожидается трёхбуквенный код валюты")
        _check_size_weight(it, path)
        if ids.get(it.get("pickup_point")) != "source":
            raise ApiError(400, "item_source_point_not_found", f"{path}: точка забора {it.get('pickup_point')} не найдена среди точек source")
        drop = it.get("dropoff_point", it.get("droppof_point"))
        if drop is not None and ids.get(drop) != "destination":
            raise ApiError(400, "item_destination_point_not_found", f"{path}: точка доставки {drop} не найдена среди точек destination")
    if "client_requirements" in body:
        _check_requirements(body["client_requirements"], "client_requirements")
    stored = []
    for n, p in enumerate(sorted(points, key=lambda p: p["visit_order"]), start=1):
        point = {k: copy.deepcopy(v) for k, v in p.items() if k != "point_id"}
        point["id"] = 1_000_000 + n * 7 + p["point_id"]  # Yandex's own ids differ from the client's point_id
        stored.append(point)
    if "return" not in types:  # added automatically, by default the source address
        source = next(p for p in stored if p["type"] == "source")
        ret = {k: copy.deepcopy(v) for k, v in source.items() if k in ("contact", "address", "skip_confirmation")}
        ret.update(id=stored[-1]["id"] + 1, type="return", visit_order=len(stored) + 1)
        stored.append(ret)
    return stored


# --------------------------------------------------------------------------- control API
def control_routes(sandbox: YandexDeliverySandbox) -> list[Route]:
    """``/sandbox/...``: the test hooks over HTTP, for a sandbox running in another process.

    ``POST /sandbox/tokens {"token","corp_client_id"?}``, ``GET /sandbox/claims``,
    ``POST /sandbox/claims/{id}/advance {"to"?}``, ``POST /sandbox/claims/{id}/status {"status"}``,
    ``POST /sandbox/claims/{id}/return``, ``POST /sandbox/tick``,
    ``POST /sandbox/fail {"method","status"?,"times"?,"after_commit"?,"retry_after"?}``,
    ``GET /sandbox/calls?method=``, ``POST /sandbox/reset``.
    """

    def handler(fn: Any) -> Any:
        async def endpoint(request: Request) -> JSONResponse:
            raw = await request.body()
            try:
                body = json.loads(raw) if raw.strip() else {}
                return JSONResponse({"ok": True, "result": fn(body, request)})
            except (ValueError, KeyError, TypeError) as e:
                return JSONResponse({"ok": False, "error": str(e)}, status_code=400)

        return endpoint

    def cid(r: Request) -> str:
        return r.path_params["claim_id"]

    return [
        Route("/sandbox/tokens", handler(lambda b, r: sandbox.add_token(b["token"], b.get("corp_client_id"))), methods=["POST"]),
        Route("/sandbox/claims", handler(lambda b, r: sandbox.claims()), methods=["GET"]),
        Route("/sandbox/claims/{claim_id}/advance", handler(lambda b, r: sandbox.advance(cid(r), b.get("to"))), methods=["POST"]),
        Route("/sandbox/claims/{claim_id}/status", handler(lambda b, r: sandbox.set_status(cid(r), b["status"])), methods=["POST"]),
        Route("/sandbox/claims/{claim_id}/return", handler(lambda b, r: sandbox.start_return(cid(r))), methods=["POST"]),
        Route("/sandbox/tick", handler(lambda b, r: sandbox.tick()), methods=["POST"]),
        Route("/sandbox/fail", handler(lambda b, r: sandbox.fail_next(
            b["method"], status=int(b.get("status", 500)), times=int(b.get("times", 1)),
            after_commit=bool(b.get("after_commit")), retry_after=b.get("retry_after"))), methods=["POST"]),
        Route("/sandbox/calls", handler(lambda b, r: sandbox.calls(r.query_params.get("method"))), methods=["GET"]),
        Route("/sandbox/reset", handler(lambda b, r: sandbox.reset()), methods=["POST"]),
    ]


# --------------------------------------------------------------------------- running it
class SandboxHandle(YandexDeliverySandbox):
    """A sandbox being served: every hook of :class:`YandexDeliverySandbox`, plus ``url`` and :meth:`stop`."""

    url: str
    _served: ServedApp | None = None
    _ticker: threading.Thread | None = None
    _stopping: threading.Event | None = None

    def stop(self) -> None:
        if self._stopping is not None:
            self._stopping.set()
        if self._served is not None:
            self._served.stop()
            self._served = None

    def __enter__(self) -> "SandboxHandle":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _start_ticker(sandbox: YandexDeliverySandbox, interval: float, stopping: threading.Event) -> threading.Thread:
    def run() -> None:
        while not stopping.wait(interval):
            sandbox.tick()

    thread = threading.Thread(target=run, name="yandex-delivery-sandbox-tick", daemon=True)
    thread.start()
    return thread


def start_sandbox(host: str = "127.0.0.1", port: int = 0, *, tick_interval: float | None = None, **options: Any) -> SandboxHandle:
    """Serve a new sandbox on ``host:port`` (0: a free port) in a background thread.

    ``tick_interval``: advance every live claim one step every so many seconds (off by default:
    tests move claims themselves). ``options`` go to :class:`YandexDeliverySandbox`.
    """
    handle = SandboxHandle(**options)
    handle._served = serve(handle.app, host, port, name="yandex-delivery-sandbox")
    handle.url = handle._served.url
    if tick_interval:
        handle._stopping = threading.Event()
        handle._ticker = _start_ticker(handle, tick_interval, handle._stopping)
    return handle


def main(argv: list[str] | None = None) -> None:
    import uvicorn

    ap = argparse.ArgumentParser(prog="python -m integrations.sandbox.yandex_delivery", description="Local Yandex Delivery claims API sandbox")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8082)
    ap.add_argument("--token", action="append", default=[], help="an accepted OAuth token (repeatable); default y0_sandbox")
    ap.add_argument("--tick", type=float, default=0, metavar="SECONDS", help="advance every live claim one step this often")
    ap.add_argument("--auto-estimate", action="store_true", help="claims reach ready_for_approval at creation")
    args = ap.parse_args(argv)

    sandbox = YandexDeliverySandbox(auto_estimate=args.auto_estimate)
    for token in args.token or ["y0_sandbox"]:
        sandbox.add_token(token)
    if args.tick:
        _start_ticker(sandbox, args.tick, threading.Event())
    print(f"Yandex Delivery sandbox on http://{args.host}:{args.port} (API at {PREFIX}/, control API at /sandbox/)")
    uvicorn.run(sandbox.app, host=args.host, port=args.port, log_level="info", timeout_graceful_shutdown=1)


if __name__ == "__main__":
    main()


__all__ = ["ALL_STATUSES", "ApiError", "PREFIX", "RETURN_WALK", "SandboxHandle", "WALK", "YandexDeliverySandbox",
           "control_routes", "main", "start_sandbox"]
