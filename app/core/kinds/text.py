"""Text kinds: one line, several lines, identifiers shown as stored, and the write-only ones."""

from __future__ import annotations

from typing import Any

from app.core.kinds.base import Field, Invalid, Kind, register_kind


@register_kind
class Text(Kind):
    """One line of text (the default of a ``str`` column)."""

    name = "text"
    wraps = True


@register_kind
class Textarea(Text):
    """Several lines (a ``str`` column longer than 500 characters)."""

    name = "textarea"
    widget = "textarea"


@register_kind
class Plain(Text):
    """A number that names something (an id, a port, a code): shown as stored, no "2 299" grouping."""

    name = "plain"
    wraps = False

    def display(self, value: Any, lang: str, currency: str | None = None) -> str:
        return str(value)


@register_kind
class Password(Text):
    """A new password: typed, never shown, not stored as typed (a hash lands in another column)."""

    name = "password"
    widget = "input"
    input_type = "password"
    write_only = True
    importable = False
    #: Not the field's own column: the resource hashes it into another (``hashed_password``).
    stored = False

    def example(self, field: Field) -> Any:
        return "a-long-password"

    def marks(self, field: Field, editing: bool) -> tuple[bool, bool]:
        # Needed for a new account, kept on an edit when left empty: the star on one form, the
        # "leave empty to keep" hint on the other.
        help_text = bool(getattr(field.spec, "help", None))
        if field.spec is not None and field.spec.required is None:
            return not editing, help_text and editing
        return super().marks(field, editing)


@register_kind
class Secret(Text):
    """Write-only (an API key, a bot token): the form never shows the stored value (``***`` when
    set), an edit that leaves it empty keeps it; never in exports or API answers."""

    name = "secret"
    widget = "secret"
    write_only = True
    keeps_when_empty = True
    importable = False


@register_kind
class SecretText(Secret):
    """A secret that spans lines (an OpenSSH private key): a multi-line box that keeps line breaks."""

    name = "secret_text"
    widget = "secret_text"


@register_kind
class Url(Text):
    """A web address: ``http://`` or ``https://`` and a host, nothing else (a Bot API server, a webhook)."""

    name = "url"
    input_type = "url"
    wraps = False
    messages = {"error.url": ("Адрес должен начинаться с http:// или https://", "The URL must start with http:// or https://")}

    def convert(self, field: Field, value: Any) -> Any:
        from urllib.parse import urlsplit

        text = str(value).strip()
        try:
            parts = urlsplit(text)
        except ValueError:
            raise Invalid("error.url") from None
        if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in text):
            raise Invalid("error.url")
        return text

    def example(self, field: Field) -> Any:
        return "https://example.com"
