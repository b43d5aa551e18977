"""Phone numbers as the kit stores and searches them: E.164 (``+79161234567``).

:func:`normalise_phone` is the one per-value parser (the ``phone`` form kind, SoftPhone events, and
the reference the numbers panel's vectorised importer is proven equal to). :func:`search_form`
turns what a person types into a search box — the way a customer dictates a number — into what
the stored values look like, so every phone field is found however it was typed.
"""

from __future__ import annotations

import re

import phonenumbers

#: A search that looks like a phone number typed by a person: digits with spaces, brackets, dashes, a plus.
_PHONE_TYPED = re.compile(r"\+?[\d\s().\-]*\d[\d\s().\-]*")


def normalise_phone(raw: str, region: str = "RU") -> str | None:
    """E.164 form of a phone number, or None when it is not a valid number (phonenumbers' metadata)."""
    try:
        num = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(num):
        return None
    return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)


def format_phone(value: str | None) -> str:
    """A stored phone as people read it: ``+79161234567`` → ``+7 916 123-45-67`` (lists, detail
    pages, record titles and the softphone card alike). Not a valid number: shown as it is."""
    if not value:
        return ""
    try:
        num = phonenumbers.parse(value, "RU")
    except phonenumbers.NumberParseException:
        return value
    return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.INTERNATIONAL) if phonenumbers.is_valid_number(num) else value


def search_form(q: str, region: str = "RU") -> str:
    """A typed search as stored phone numbers spell it, for a substring match on a phone field.

    A whole number however typed → its E.164 ("8 (916) 555-12-34", "+7 916 5551234" →
    "+79165551234"); a fragment → its digits ("916 555" → "916555", "999-12" → "99912"); a
    fragment typed with Russia's trunk prefix → +7 ("8 (916" → "+7916"); short bare digits and
    anything with letters stay as typed ("7999", "Иванов").
    """
    q = q.strip()
    if not _PHONE_TYPED.fullmatch(q) or (q.isdigit() and len(q) < 10):
        return q
    full = normalise_phone(q, region)
    if full is not None:
        return full
    digits = re.sub(r"\D", "", q)
    if q.startswith("+"):
        return "+" + digits
    if len(q) > 1 and q[0] == "8" and q[1] in " (-":  # "8 (9…": the trunk prefix of +7, as Russians dial
        return "+7" + digits[1:]
    return digits


__all__ = ["format_phone", "normalise_phone", "search_form"]
