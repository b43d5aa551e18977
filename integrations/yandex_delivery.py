"""Yandex Delivery (Яндекс Доставка) B2B "claims" API v2 client over httpx (synchronous).

Follows https://yandex.ru/support/delivery-profile/ru/api/express/ (the express/cargo contour on
``https://b2b.taxi.yandex.net``). Every method is ``POST /b2b/cargo/integration/v2/<method>`` with
``Authorization: Bearer <OAuth token>`` and ``Accept-Language``; the claim id and the idempotency
token travel in the query string, everything else as a JSON body. Errors answer a non-2xx status
with ``{"code": "...", "message": "..."}``::

    with YandexDeliveryClient(token, base_url=sandbox.url, log=provider_log.append) as yd:
        tariff = choose_tariff(items)                       # express (легковая) or cargo + body
        claim = yd.create_claim(request_id, build_claim(source, destination, items, tariff))
        info = yd.claim_info(claim["id"])                   # poll until ready_for_approval
        yd.accept_claim(claim["id"], info["version"])
        normalize_status(info["status"])                    # -> CREATED / COURIER_ASSIGNED / ...

Failures and retries:

* ``429`` — waited out (``Retry-After`` when the answer has one, else exponential backoff), at most
  ``max_attempts`` tries and ``max_retry_wait`` seconds in all; past that
  :class:`YandexDeliveryRetryLater` (retryable) so a job can reschedule itself.
* ``5xx`` and network errors — retried with exponential backoff, then
  :class:`YandexDeliveryUnavailable` (retryable). Safe for every method: ``claims/create`` carries
  its ``request_id`` (the same id returns the same claim, never a second courier), the reads have
  no effect, and ``accept``/``cancel`` settle an ambiguous retry by reading the claim back (a
  ``409`` after a failed attempt whose effect is visible in ``claims/info`` counts as success).
* ``400`` → :class:`YandexDeliveryValidationError` (the provider's ``code`` and human ``message``),
  ``401`` → :class:`YandexDeliveryAuthError` (``403``: its subclass
  :class:`YandexDeliveryForbidden`), ``404`` → :class:`YandexDeliveryNotFound`, ``409`` →
  :class:`YandexDeliveryConflict`; never retried.

Every attempt (request and answer) goes to the optional ``log`` callback as a dict — method, path
with query, status, duration, the JSON bodies — so the app can keep a provider log. Headers are
never passed, and the token is masked wherever it might appear, so it never reaches the log,
exception messages or ``repr()``.

Besides the client, two pure functions the app builds on: :func:`normalize_status` (provider
status → the panel's seven) and :func:`choose_tariff` (passenger car vs cargo body by size and
weight; the thresholds are Yandex's published limits, see the constants below).
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

DEFAULT_BASE_URL = "https://b2b.taxi.yandex.net"
API_PREFIX = "/b2b/cargo/integration/v2"

log = logging.getLogger(__name__)

# --------------------------------------------------------------------------- statuses
#: Every claim status of the documented status model (claim-process), in walk order.
STATUSES: tuple[str, ...] = (
    "new", "estimating", "estimating_failed", "ready_for_approval", "accepted", "performer_lookup",
    "performer_draft", "performer_found", "performer_not_found", "pickup_arrived",
    "ready_for_pickup_confirmation", "pickuped", "delivery_arrived", "ready_for_delivery_confirmation",
    "pay_waiting", "delivered", "delivered_finish", "returning", "return_arrived",
    "ready_for_return_confirmation", "returned", "returned_finish", "failed", "cancelled",
    "cancelled_with_payment", "cancelled_by_taxi", "cancelled_with_items_on_hands",
)

CREATED = "CREATED"
COURIER_ASSIGNED = "COURIER_ASSIGNED"
PICKED_UP = "PICKED_UP"
IN_TRANSIT = "IN_TRANSIT"
DELIVERED = "DELIVERED"
CANCELLED = "CANCELLED"
PROBLEM = "PROBLEM"
NORMALIZED: tuple[str, ...] = (CREATED, COURIER_ASSIGNED, PICKED_UP, IN_TRANSIT, DELIVERED, CANCELLED, PROBLEM)

#: Provider status → the panel's status. Why each group lands where it does:
#: * until a courier is found the claim only exists (estimation, approval, courier search): CREATED;
#: * a courier is found and heading to / waiting at the sender: COURIER_ASSIGNED;
#: * the sender handed the goods over (code confirmed): PICKED_UP;
#: * at the recipient, or waiting for payment there: IN_TRANSIT (not yet handed over —
#:   ``delivery_arrived`` alone must never count as delivered);
#: * handed over (``delivered``; ``delivered_finish`` closes the claim): DELIVERED;
#: * cancelled by us (free or paid) or by the courier: CANCELLED;
#: * anything that needs a person: estimation failed, no courier found, a failure, and the whole
#:   return branch (the goods come back undelivered): PROBLEM.
STATUS_MAP: dict[str, str] = {
    "new": CREATED,
    "estimating": CREATED,
    "ready_for_approval": CREATED,
    "accepted": CREATED,
    "performer_lookup": CREATED,
    "performer_draft": CREATED,
    "performer_found": COURIER_ASSIGNED,
    "pickup_arrived": COURIER_ASSIGNED,
    "ready_for_pickup_confirmation": COURIER_ASSIGNED,
    "pickuped": PICKED_UP,
    "delivery_arrived": IN_TRANSIT,
    "ready_for_delivery_confirmation": IN_TRANSIT,
    "pay_waiting": IN_TRANSIT,
    "delivered": DELIVERED,
    "delivered_finish": DELIVERED,
    "cancelled": CANCELLED,
    "cancelled_with_payment": CANCELLED,
    "cancelled_by_taxi": CANCELLED,
    "cancelled_with_items_on_hands": CANCELLED,
    "estimating_failed": PROBLEM,
    "performer_not_found": PROBLEM,
    "failed": PROBLEM,
    "returning": PROBLEM,
    "return_arrived": PROBLEM,
    "ready_for_return_confirmation": PROBLEM,
    "returned": PROBLEM,
    "returned_finish": PROBLEM,
}

#: Statuses after which the claim never changes again: polling stops here.
TERMINAL_STATUSES = frozenset({
    "delivered_finish", "returned_finish", "failed", "performer_not_found", "cancelled",
    "cancelled_with_payment", "cancelled_by_taxi", "cancelled_with_items_on_hands",
})

#: Statuses in which ``claims/accept`` has already taken effect (used to settle an ambiguous retry).
_ACCEPTED_OR_LATER = frozenset(STATUSES) - {"new", "estimating", "estimating_failed", "ready_for_approval", "failed"}


def normalize_status(status: str | None) -> str:
    """The panel's status for a provider status (``STATUS_MAP``).

    An unknown status (one Yandex adds after this was written) is PROBLEM: somebody should look,
    rather than the shipment silently sitting in a wrong state.
    """
    return STATUS_MAP.get((status or "").strip().lower(), PROBLEM)


def is_terminal(status: str | None) -> bool:
    """Whether the claim is finished (no further status will come; stop polling it)."""
    return (status or "").strip().lower() in TERMINAL_STATUSES


# --------------------------------------------------------------------------- tariff choice
@dataclass(frozen=True)
class Body:
    """A vehicle class Yandex publishes limits for (CargoItemSizes / weight in claims/create)."""

    taxi_class: str
    cargo_type: str | None
    title: str
    #: Inner dimensions in metres, largest first.
    dims: tuple[float, float, float]
    max_weight_kg: float

    @property
    def volume_m3(self) -> float:
        return self.dims[0] * self.dims[1] * self.dims[2]


#: "Экспресс" (a passenger car): up to 1.00 × 0.60 × 0.50 m and 20 kg.
EXPRESS = Body("express", None, "Легковой автомобиль (Экспресс)", (1.00, 0.60, 0.50), 20)
#: "Грузовой": small (van) 1.70 × 0.96 × 0.90 m / 300 kg, medium (lcv_m) 2.60 × 1.30 × 1.50 m /
#: 700 kg, large (lcv_l) 3.80 × 1.80 × 1.80 m / 1400 kg.
CARGO_BODIES: tuple[Body, ...] = (
    Body("cargo", "van", "Грузовой, маленький кузов", (1.70, 0.96, 0.90), 300),
    Body("cargo", "lcv_m", "Грузовой, средний кузов", (2.60, 1.30, 1.50), 700),
    Body("cargo", "lcv_l", "Грузовой, большой кузов", (3.80, 1.80, 1.80), 1400),
)
#: Boxes never fill a body exactly: the items' total volume may take at most this share of it.
FILL_FACTOR = 0.8


@dataclass(frozen=True)
class Item:
    """One line of a shipment as the courier sees it: sizes of one unit in metres, weight in kg."""

    title: str
    quantity: int = 1
    weight_kg: float | None = None
    length_m: float | None = None
    width_m: float | None = None
    height_m: float | None = None
    cost_value: str = "0.00"
    cost_currency: str = "RUB"
    extra_id: str | None = None

    @property
    def sized(self) -> bool:
        return None not in (self.length_m, self.width_m, self.height_m)

    def dims(self) -> tuple[float, float, float]:
        """The unit's sizes, largest first (a box may be turned any way)."""
        a, b, c = sorted((float(self.length_m or 0), float(self.width_m or 0), float(self.height_m or 0)), reverse=True)
        return a, b, c


@dataclass(frozen=True)
class TariffChoice:
    """What :func:`choose_tariff` picked and why (``reason`` is shown to the user as is)."""

    taxi_class: str
    cargo_type: str | None
    title: str
    reason: str
    total_weight_kg: float
    total_volume_m3: float

    def client_requirements(self) -> dict[str, Any]:
        """``client_requirements`` of claims/create."""
        out: dict[str, Any] = {"taxi_class": self.taxi_class}
        if self.cargo_type:
            out["cargo_type"] = self.cargo_type
        return out

    def requirements(self) -> dict[str, Any]:
        """``requirements`` of check-price (same fields)."""
        return self.client_requirements()


class NoTariffFits(ValueError):
    """The shipment exceeds the largest body Yandex publishes (split it into several claims)."""


def _fits(unit: tuple[float, float, float], body: Body) -> bool:
    return all(u <= b + 1e-9 for u, b in zip(unit, body.dims))


def choose_tariff(items: Iterable[Item]) -> TariffChoice:
    """Passenger car ("express") or the smallest cargo body the shipment fits.

    The rule (limits from Yandex's claims/create documentation):

    1. **Express** when every unit fits 1.00 × 0.60 × 0.50 m in some orientation, the total weight
       is at most 20 kg and, for more than one unit, the total volume at most ``FILL_FACTOR``
       (80 %) of that box (boxes never pack perfectly; a single box only has to fit).
    2. Otherwise **cargo** with the first body of van → lcv_m → lcv_l that passes the same three
       checks against its own limits.
    3. Larger than lcv_l: :class:`NoTariffFits`.

    An item without all three sizes, or without a weight, cannot be proven to fit a passenger car,
    so it never goes by express: the smallest cargo body that the known figures allow is chosen.
    """
    items = list(items)
    if not items:
        raise ValueError("no items to deliver")
    for it in items:
        if int(it.quantity) < 1:
            raise ValueError(f"{it.title}: quantity must be at least 1")
        for name in ("weight_kg", "length_m", "width_m", "height_m"):
            value = getattr(it, name)
            if value is not None and (not math.isfinite(float(value)) or float(value) < 0):
                raise ValueError(f"{it.title}: {name} must be a non-negative number")
    weight = sum(float(it.weight_kg or 0) * int(it.quantity) for it in items)
    volume = sum(math.prod(it.dims()) * int(it.quantity) for it in items if it.sized)
    unknown = [it.title for it in items if not it.sized or it.weight_kg is None]
    largest = max((it.dims() for it in items if it.sized), default=(0.0, 0.0, 0.0), key=lambda d: d)

    single = sum(int(it.quantity) for it in items) == 1

    def passes(body: Body) -> bool:
        units_fit = all(_fits(it.dims(), body) for it in items if it.sized)
        packs = single or volume <= body.volume_m3 * FILL_FACTOR + 1e-9  # one box only has to fit
        return units_fit and packs and weight <= body.max_weight_kg + 1e-9

    figures = f"{weight:g} кг, {volume:.3f} м³"
    if not unknown and passes(EXPRESS):
        return TariffChoice("express", None, EXPRESS.title,
                            f"{figures}: помещается в легковой автомобиль (до 1.00×0.60×0.50 м, 20 кг)", weight, volume)
    why_not = (f"не заданы размеры или вес: {', '.join(unknown)}" if unknown
               else f"{figures}, самое крупное место {largest[0]:g}×{largest[1]:g}×{largest[2]:g} м — больше легкового")
    for body in CARGO_BODIES:
        if passes(body):
            return TariffChoice("cargo", body.cargo_type, body.title,
                                f"{why_not}; {body.title.lower()} (до {body.dims[0]:g}×{body.dims[1]:g}×{body.dims[2]:g} м, "
                                f"{body.max_weight_kg:g} кг)", weight, volume)
    raise NoTariffFits(f"{figures}: не помещается даже в большой грузовой кузов (3.80×1.80×1.80 м, 1400 кг); "
                       "разделите отгрузку на несколько заявок")


# --------------------------------------------------------------------------- request builders
@dataclass(frozen=True)
class Point:
    """A route point: where the courier goes and whom he calls there."""

    fullname: str
    lat: float
    lon: float
    contact_name: str
    contact_phone: str
    contact_email: str | None = None
    comment: str | None = None
    external_order_id: str | None = None

    def coordinates(self) -> list[float]:
        """Yandex wants ``[longitude, latitude]``, in that order."""
        return [float(self.lon), float(self.lat)]


SOURCE_POINT_ID = 1
DESTINATION_POINT_ID = 2


def _cargo_item(it: Item) -> dict[str, Any]:
    out: dict[str, Any] = {
        "title": it.title,
        "quantity": int(it.quantity),
        "cost_value": it.cost_value,
        "cost_currency": it.cost_currency,
        "pickup_point": SOURCE_POINT_ID,
        "dropoff_point": DESTINATION_POINT_ID,
        # The deprecated spelling too: accounts on the older schema still read it.
        "droppof_point": DESTINATION_POINT_ID,
    }
    if it.extra_id:
        out["extra_id"] = it.extra_id
    if it.sized:
        out["size"] = {"length": float(it.length_m), "width": float(it.width_m), "height": float(it.height_m)}
    if it.weight_kg is not None:
        out["weight"] = float(it.weight_kg)
    return out


def _route_point(p: Point, point_id: int, kind: str) -> dict[str, Any]:
    contact: dict[str, Any] = {"name": p.contact_name, "phone": p.contact_phone}
    if p.contact_email:
        contact["email"] = p.contact_email
    address: dict[str, Any] = {"fullname": p.fullname, "coordinates": p.coordinates()}
    if p.comment:
        address["comment"] = p.comment
    out: dict[str, Any] = {"point_id": point_id, "visit_order": point_id, "type": kind, "contact": contact, "address": address}
    if p.external_order_id:
        out["external_order_id"] = p.external_order_id
    return out


def build_claim(
    source: Point,
    destination: Point,
    items: Iterable[Item],
    tariff: TariffChoice | None = None,
    *,
    comment: str | None = None,
    callback_url: str | None = None,
    skip_client_notify: bool = False,
) -> dict[str, Any]:
    """The JSON body of ``claims/create`` for one pickup and one drop-off (the tariff is chosen
    with :func:`choose_tariff` unless given)."""
    items = list(items)
    tariff = tariff or choose_tariff(items)
    body: dict[str, Any] = {
        "items": [_cargo_item(it) for it in items],
        "route_points": [
            _route_point(source, SOURCE_POINT_ID, "source"),
            _route_point(destination, DESTINATION_POINT_ID, "destination"),
        ],
        "client_requirements": tariff.client_requirements(),
        "skip_client_notify": bool(skip_client_notify),
    }
    if comment:
        body["comment"] = comment
    if callback_url:
        body["callback_properties"] = {"callback_url": callback_url}
    return body


def build_price_check(source: Point, destination: Point, items: Iterable[Item], tariff: TariffChoice | None = None) -> dict[str, Any]:
    """The JSON body of ``check-price`` (points by coordinates, items by size and weight)."""
    items = list(items)
    tariff = tariff or choose_tariff(items)
    out_items = []
    for it in items:
        row: dict[str, Any] = {"quantity": int(it.quantity), "pickup_point": SOURCE_POINT_ID, "dropoff_point": DESTINATION_POINT_ID}
        if it.sized:
            row["size"] = {"length": float(it.length_m), "width": float(it.width_m), "height": float(it.height_m)}
        if it.weight_kg is not None:
            row["weight"] = float(it.weight_kg)
        out_items.append(row)
    return {
        "items": out_items,
        "route_points": [
            {"id": SOURCE_POINT_ID, "coordinates": source.coordinates(), "fullname": source.fullname},
            {"id": DESTINATION_POINT_ID, "coordinates": destination.coordinates(), "fullname": destination.fullname},
        ],
        "requirements": tariff.requirements(),
    }


# --------------------------------------------------------------------------- errors
class YandexDeliveryError(Exception):
    """The API refused a call, or could not be reached.

    ``status`` is the HTTP status (0: no answer), ``code`` and ``message`` the provider's
    (``validation_error`` / "Неправильное тело запроса"), ``path`` the method called.
    """

    #: Whether the same call later may succeed.
    retryable = False

    def __init__(self, status: int, code: str, message: str, *, path: str | None = None, retry_after: float | None = None) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.path = path
        self.retry_after = retry_after
        #: Set by the client when an earlier attempt of the same call failed (5xx, 429, network):
        #: a 409 may then mean that attempt went through after all.
        self.after_failed_attempt = False
        super().__init__(status, code, message)

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        return f"{where}{self.message} ({self.status} {self.code})"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.status!r}, {self.code!r}, {self.message!r}, path={self.path!r})"


class YandexDeliveryValidationError(YandexDeliveryError):
    """400: the request is wrong (a field, a phone, an address); ``message`` says what, for people."""


class YandexDeliveryAuthError(YandexDeliveryError):
    """401/403: the OAuth token is wrong, revoked, or lacks the right."""


class YandexDeliveryForbidden(YandexDeliveryAuthError):
    """403: identified, but not allowed (``forbidden_by_antifake``, ``payment_on_delivery_disabled``, …)."""


class YandexDeliveryNotFound(YandexDeliveryError):
    """404: no such claim for this token."""


class YandexDeliveryConflict(YandexDeliveryError):
    """409: not allowed in the claim's status, an old version, an expired offer, a paid cancel asked free."""


class YandexDeliveryRetryLater(YandexDeliveryError):
    """429 for longer than the client may wait: try again in ``retry_after`` seconds."""

    retryable = True


class YandexDeliveryUnavailable(YandexDeliveryError):
    """5xx answers or network errors on every attempt."""

    retryable = True


_BY_STATUS: dict[int, type[YandexDeliveryError]] = {
    400: YandexDeliveryValidationError,
    401: YandexDeliveryAuthError,
    403: YandexDeliveryForbidden,
    404: YandexDeliveryNotFound,
    409: YandexDeliveryConflict,
}


def mask_token(token: str) -> str:
    """``y0_AgAAAA…XYZ`` → ``y0_A***`` (enough to tell two tokens apart in a settings page)."""
    return f"{token[:4]}***" if len(token) > 8 else "***"


# --------------------------------------------------------------------------- client
LogCallback = Callable[[dict[str, Any]], None]


class YandexDeliveryClient:
    """One OAuth token's connection to the claims API.

    ``base_url`` defaults to the production host; point it at the sandbox in tests. ``http`` lets
    the caller share an ``httpx.Client`` (not closed by :meth:`close`); ``sleep`` is what waits
    between attempts; ``log`` receives one dict per HTTP attempt (see the module doc).
    """

    def __init__(
        self,
        token: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        accept_language: str = "ru",
        timeout: float = 15.0,
        max_attempts: int = 4,
        backoff: float = 0.5,
        max_backoff: float = 8.0,
        max_retry_wait: float = 30.0,
        http: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
        log: LogCallback | None = None,
    ) -> None:
        if not token:
            raise ValueError("a Yandex Delivery OAuth token is required")
        self._token = token
        self.base_url = (base_url or DEFAULT_BASE_URL).rstrip("/")
        self.accept_language = accept_language
        self.timeout = timeout
        self.max_attempts = max(1, max_attempts)
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.max_retry_wait = max_retry_wait
        self._own_http = http is None
        self._http = http if http is not None else httpx.Client(timeout=timeout)
        self._sleep = sleep
        self._log = log

    def __repr__(self) -> str:
        return f"YandexDeliveryClient(token={mask_token(self._token)!r}, base_url={self.base_url!r})"

    def close(self) -> None:
        if self._own_http:
            self._http.close()

    def __enter__(self) -> "YandexDeliveryClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing
    def _redact(self, text: str) -> str:
        return text.replace(self._token, mask_token(self._token)) if self._token in text else text

    def _delay(self, failures: int) -> float:
        return min(self.max_backoff, self.backoff * 2 ** (failures - 1))

    def _emit(self, entry: dict[str, Any]) -> None:
        if self._log is None:
            return
        try:
            self._log(entry)
        except Exception:  # the provider log must never break the delivery itself
            log.exception("yandex delivery: the log callback failed")

    @staticmethod
    def _retry_after(resp: httpx.Response) -> float | None:
        value = resp.headers.get("Retry-After")
        if value is None:
            return None
        try:
            return max(0.0, float(value))
        except ValueError:
            return None

    def request(
        self,
        method: str,
        query: Mapping[str, Any] | None = None,
        body: Any = None,
        *,
        timeout: float | None = None,
    ) -> Any:
        """``POST {base}/b2b/cargo/integration/v2/{method}`` and return the parsed answer (retrying
        as the module doc says). ``method`` is e.g. ``"claims/info"``."""
        path = f"{API_PREFIX}/{method.strip('/')}"
        params = {k: v for k, v in (query or {}).items() if v is not None}
        shown_path = path + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else "")
        headers = {
            "Authorization": f"Bearer {self._token}",
            "Accept-Language": self.accept_language,
            "Accept": "application/json",
        }
        waited = 0.0
        attempt = 0
        failures = 0
        while True:
            attempt += 1
            started = time.monotonic()
            try:
                resp = self._http.post(
                    self.base_url + path, params=params, json=body if body is not None else {}, headers=headers,
                    timeout=timeout if timeout is not None else self.timeout,
                )
            except httpx.TransportError as exc:
                reason = self._redact(f"{type(exc).__name__}: {exc}")
                self._emit({"method": "POST", "path": shown_path, "status": None, "attempt": attempt,
                            "duration_ms": round((time.monotonic() - started) * 1000, 1),
                            "request": body, "response": None, "error": reason})
                failures += 1
                if attempt >= self.max_attempts:
                    raise YandexDeliveryUnavailable(0, "network_error", f"сеть недоступна: {reason}", path=method) from None
                delay = self._delay(failures)
                log.warning("yandex delivery %s: %s; retrying in %.1f s", method, reason, delay)
                self._sleep(delay)
                waited += delay
                continue

            duration_ms = round((time.monotonic() - started) * 1000, 1)
            text = self._redact(resp.text)
            try:
                data: Any = json.loads(text) if text.strip() else None
            except ValueError:
                data = None
            self._emit({"method": "POST", "path": shown_path, "status": resp.status_code, "attempt": attempt,
                        "duration_ms": duration_ms, "request": body, "response": data if data is not None else text[:2000],
                        "error": None})
            if 200 <= resp.status_code < 300:
                if data is None:
                    raise YandexDeliveryUnavailable(resp.status_code, "bad_answer", "ответ не в формате JSON", path=method)
                return data

            err = data if isinstance(data, dict) else {}
            code = str(err.get("code") or resp.reason_phrase or "error")
            message = str(err.get("message") or resp.reason_phrase or "нет описания")

            if resp.status_code == 429:
                retry_after = self._retry_after(resp)
                failures += 1
                wait = retry_after if retry_after is not None else self._delay(failures)
                if attempt >= self.max_attempts or waited + wait > self.max_retry_wait:
                    raise YandexDeliveryRetryLater(429, code, message, path=method, retry_after=wait)
                log.warning("yandex delivery %s: rate limited, waiting %.1f s", method, wait)
                self._sleep(wait)
                waited += wait
                continue

            if resp.status_code >= 500:
                failures += 1
                if attempt >= self.max_attempts:
                    raise YandexDeliveryUnavailable(resp.status_code, code, message, path=method)
                delay = self._delay(failures)
                retry_after = self._retry_after(resp)
                if retry_after is not None:
                    delay = min(max(delay, retry_after), self.max_retry_wait)
                log.warning("yandex delivery %s: %s %s; retrying in %.1f s", method, resp.status_code, code, delay)
                self._sleep(delay)
                waited += delay
                continue

            cls = _BY_STATUS.get(resp.status_code, YandexDeliveryError)
            error = cls(resp.status_code, code, message, path=method)
            error.after_failed_attempt = failures > 0
            raise error

    # -- methods
    def create_claim(self, request_id: str, claim: Mapping[str, Any]) -> dict[str, Any]:
        """``claims/create``: a new claim (status ``new``; the estimate comes later, see
        :meth:`claim_info`). The same ``request_id`` again returns the claim made the first time,
        whatever the body — keep it with the delivery order and reuse it for every retry."""
        if not request_id or len(request_id) > 128:
            raise ValueError("request_id must be 1-128 characters")
        return self.request("claims/create", {"request_id": request_id}, dict(claim))

    def claim_info(self, claim_id: str) -> dict[str, Any]:
        """``claims/info``: the claim as it is now (status, version, pricing, performer_info, …)."""
        return self.request("claims/info", {"claim_id": claim_id}, {})

    def accept_claim(self, claim_id: str, version: int) -> dict[str, Any]:
        """``claims/accept``: confirm an estimated claim (``ready_for_approval``, within 10 minutes);
        the courier search starts. ``version`` comes from :meth:`claim_info`."""
        try:
            return self.request("claims/accept", {"claim_id": claim_id}, {"version": int(version)})
        except YandexDeliveryConflict as exc:
            if exc.after_failed_attempt:
                info = self.claim_info(claim_id)
                if info.get("status") in _ACCEPTED_OR_LATER:  # the failed attempt went through
                    return _short(info)
            raise

    def cancel_info(self, claim_id: str) -> dict[str, Any]:
        """``claims/cancel-info``: ``cancel_state`` free / paid / unavailable (and the price of a paid one)."""
        return self.request("claims/cancel-info", {"claim_id": claim_id}, {})

    def cancel_claim(self, claim_id: str, version: int, cancel_state: str) -> dict[str, Any]:
        """``claims/cancel`` with ``cancel_state`` ``free`` (→ cancelled) or ``paid`` (→
        cancelled_with_payment); take it from :meth:`cancel_info`, the API refuses the wrong one."""
        if cancel_state not in ("free", "paid"):
            raise ValueError("cancel_state must be 'free' or 'paid'")
        try:
            return self.request("claims/cancel", {"claim_id": claim_id}, {"version": int(version), "cancel_state": cancel_state})
        except YandexDeliveryConflict as exc:
            if exc.after_failed_attempt:
                info = self.claim_info(claim_id)
                if str(info.get("status", "")).startswith("cancelled"):
                    return _short(info)
            raise

    def check_price(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """``check-price``: a price and ETA without creating a claim (see :func:`build_price_check`)."""
        return self.request("check-price", None, dict(body))

    def tariffs(self, lat: float, lon: float, fullname: str | None = None) -> list[dict[str, Any]]:
        """``tariffs``: the classes (courier/express/cargo) and their options available at a point."""
        body: dict[str, Any] = {"start_point": [float(lon), float(lat)]}
        if fullname:
            body["fullname"] = fullname
        return list(self.request("tariffs", None, body).get("available_tariffs") or [])

    def journal(self, cursor: str | None = None, limit: int | None = None) -> dict[str, Any]:
        """``claims/journal``: status and price changes of all the account's claims after ``cursor``
        (from the start without one). Keep the answer's ``cursor`` for the next call."""
        body = {"cursor": cursor} if cursor else {}
        return self.request("claims/journal", {"limit": limit} if limit else None, body)


def _short(info: Mapping[str, Any]) -> dict[str, Any]:
    """The accept/cancel answer's shape, from a claims/info answer."""
    return {
        "id": info.get("id"),
        "status": info.get("status"),
        "version": info.get("version"),
        "user_request_revision": info.get("user_request_revision"),
        "skip_client_notify": bool(info.get("skip_client_notify", False)),
    }


__all__ = [
    "API_PREFIX", "CANCELLED", "CARGO_BODIES", "COURIER_ASSIGNED", "CREATED", "DEFAULT_BASE_URL", "DELIVERED",
    "EXPRESS", "FILL_FACTOR", "IN_TRANSIT", "Item", "NORMALIZED", "NoTariffFits", "PICKED_UP", "PROBLEM", "Point",
    "STATUSES", "STATUS_MAP", "TERMINAL_STATUSES", "TariffChoice", "YandexDeliveryAuthError", "YandexDeliveryClient",
    "YandexDeliveryConflict", "YandexDeliveryError", "YandexDeliveryForbidden", "YandexDeliveryNotFound", "YandexDeliveryRetryLater",
    "YandexDeliveryUnavailable", "YandexDeliveryValidationError", "build_claim", "build_price_check",
    "choose_tariff", "is_terminal", "mask_token", "normalize_status",
]
