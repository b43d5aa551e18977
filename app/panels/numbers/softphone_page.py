"""Номера → SoftPhone: the one part of the declared settings page (:mod:`.softphone_settings`) no
kind has, a sample signed request."""

from __future__ import annotations

import reflex as rx

from app.core.ui import tr
from integrations.softphone import SIGNATURE_HEADER, TIMESTAMP_HEADER

EXAMPLE = f"""BODY='{{"call_id":"c-1","event":"incoming","phone":"+79991234567","operator":"manager"}}'
TS=$(date +%s)
SIG=$(printf '%s.%s' "$TS" "$BODY" | openssl dgst -sha256 -hmac "$SECRET" | sed 's/^.* //')
curl -X POST "$URL" -H 'Content-Type: application/json' \\
  -H "{TIMESTAMP_HEADER}: $TS" -H "{SIGNATURE_HEADER}: sha256=$SIG" --data-binary "$BODY\""""


def example_block() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.text(tr("numbers.softphone.example"), size="2", weight="medium"),
            rx.code_block(EXAMPLE, language="bash", width="100%", wrap_long_lines=True),
            rx.text(tr("numbers.softphone.docs"), size="1", color_scheme="gray"),
            spacing="2", width="100%",
        ),
        width="100%", max_width="860px",
    )
