"""Errors that services raise and every front door (UI handler, API, job) turns into a message."""

from __future__ import annotations


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
    status_code = 429
