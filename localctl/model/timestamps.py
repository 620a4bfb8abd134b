"""OCPP date-times in and out.

Stations send ISO 8601 in many shapes: without a zone, with 'z', with 9 fractional digits,
with '+0100'. Every form that is unambiguous enough is read as an aware UTC `datetime`; a
missing zone is taken as UTC (OCPP 2.0.1 part 2, 2.1.3: all times are UTC, and 1.6 JSON
says the same). Anything else gives None, never an exception.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

_FRACTION = re.compile(r"([.,])(\d+)")
_MAX_TEXT_LENGTH = 64


def parse_timestamp(value: object) -> datetime | None:
    """An aware UTC datetime, or None when `value` is not a readable ISO 8601 date-time."""
    if not isinstance(value, str) or len(value) > _MAX_TEXT_LENGTH:
        return None
    text = value.strip()
    if text[-1:] in ("z", "Z"):
        text = text[:-1] + "+00:00"
    # datetime.fromisoformat takes at most 6 fractional digits; nanoseconds are common.
    text = _FRACTION.sub(lambda m: "." + (m.group(2) + "000000")[:6], text, count=1)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        return None


def format_timestamp(moment: datetime) -> str:
    """RFC 3339 in UTC with 'Z', as both versions' schemas expect; naive means UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    text = moment.astimezone(UTC).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")
