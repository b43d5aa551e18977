"""One phone number to E.164: the parser both of the phone kind's paths answer with (the per-value
one is this; the vectorised one in :mod:`app.core.kinds._phone_bulk` is proven equal to it)."""

from __future__ import annotations

import phonenumbers


def normalise_phone(raw: str, region: str = "RU") -> str | None:
    """E.164 form of a phone number, or None when it is not a valid number (phonenumbers' metadata)."""
    try:
        num = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(num):
        return None
    return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)
