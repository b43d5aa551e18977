"""Errors that services raise and every front door (UI handler, API, job) turns into a message."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


class PultError(Exception):
    """Base class. ``key`` is an i18n catalog key, ``params`` fill its placeholders."""

    status_code = 400

    def __init__(self, key: str = "error.generic", **params: object) -> None:
        super().__init__(key)
        self.key = key
        self.params = params

    def message(self, lang: str = "ru") -> str:
        from app.core.i18n import t

        return t(self.key, lang, **self.params)


class PermissionDenied(PultError):
    status_code = 403

    def __init__(self, key: str = "forbidden", **params: object) -> None:
        super().__init__(key, **params)


class NotAuthenticated(PultError):
    status_code = 401

    def __init__(self, key: str = "login.expired", **params: object) -> None:
        super().__init__(key, **params)


class NotFound(PultError):
    status_code = 404

    def __init__(self, key: str = "not_found", **params: object) -> None:
        super().__init__(key, **params)


class ValidationFailed(PultError):
    """Field errors: ``{"field": ("i18n.key", {params})}``; ``""`` is the form as a whole."""

    status_code = 422

    def __init__(self, errors: dict[str, tuple[str, dict]]) -> None:
        super().__init__("error.form")
        self.errors = errors

    def messages(self, lang: str = "ru") -> dict[str, str]:
        from app.core.i18n import t

        return {name: t(key, lang, **params) for name, (key, params) in self.errors.items()}

    @classmethod
    def one(cls, field: str, key: str, **params: object) -> "ValidationFailed":
        return cls({field: (key, dict(params))})


class Throttled(PultError):
    """Too many attempts: 429. ``retry_after`` (seconds) becomes the API's ``Retry-After`` header."""

    status_code = 429

    def __init__(self, key: str = "login.throttled", retry_after: int | None = None, **params: object) -> None:
        super().__init__(key, **params)
        self.retry_after = retry_after


class ServiceUnavailable(PultError):
    """The database or Redis cannot be reached right now: 503, "try again in a minute", never a 500.

    Front doors turn an outage (:func:`is_outage`) into this: the API answers 503 with
    ``Retry-After``, the UI shows a toast.
    """

    status_code = 503

    def __init__(self, key: str = "error.unavailable", **params: object) -> None:
        super().__init__(key, **params)


def is_outage(exc: BaseException) -> bool:
    """Whether ``exc`` means PostgreSQL or Redis is down (as opposed to a bug or bad input)."""
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError
    from sqlalchemy.exc import DisconnectionError, OperationalError

    if isinstance(exc, (RedisConnectionError, RedisTimeoutError, DisconnectionError)):
        return True
    if isinstance(exc, OperationalError):
        # psycopg's OperationalError covers "connection refused/closed"; a statement timeout is a
        # QueryCanceled (also operational) and is not an outage.
        from psycopg.errors import QueryCanceled

        return not isinstance(getattr(exc, "orig", None), QueryCanceled)
    return False


@contextmanager
def outage_is_unavailable() -> Iterator[None]:
    """Turn a PostgreSQL/Redis outage raised inside into :class:`ServiceUnavailable` (other errors
    pass through): sign-in answers 503, a UI handler shows a toast instead of a generic error."""
    try:
        yield
    except PultError:
        raise
    except Exception as exc:
        if is_outage(exc):
            raise ServiceUnavailable() from exc
        raise
