"""Typed, never-raising reads from JSON payloads a peer wrote.

JSON from a station may hold anything anywhere; every read here checks the type and gives
None (or an empty list) instead of raising, so the translators stay total functions.
`bool` is excluded where an integer or number is expected, since JSON true is not 1.
"""

from __future__ import annotations

import math
from typing import Any, TypeVar

from localctl.model.errors import UnreadablePayloadError

JsonObject = dict[str, Any]
_T = TypeVar("_T")


def as_object(value: object) -> JsonObject | None:
    return value if isinstance(value, dict) else None


def object_at(mapping: JsonObject, key: str) -> JsonObject | None:
    return as_object(mapping.get(key))


def objects_at(mapping: JsonObject, key: str) -> list[JsonObject]:
    """The objects in the list at `key`; anything that is not an object is skipped."""
    value = mapping.get(key)
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, dict)]


def text_at(mapping: JsonObject, key: str) -> str | None:
    value = mapping.get(key)
    return value if isinstance(value, str) else None


def integer_at(mapping: JsonObject, key: str) -> int | None:
    value = mapping.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def as_number(value: object) -> float | None:
    """A finite number from a JSON number or a decimal string ('12.5', ' 7 ', '12,5')."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        try:
            number = float(value)
        except OverflowError:  # an integer beyond the float range
            return None
    elif isinstance(value, str) and len(value) <= 40:
        try:
            number = float(value.strip().replace(",", "."))
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def number_at(mapping: JsonObject, key: str) -> float | None:
    return as_number(mapping.get(key))


def bool_at(mapping: JsonObject, key: str) -> bool | None:
    value = mapping.get(key)
    return value if isinstance(value, bool) else None


def lookup(table: dict[str, _T], value: object) -> _T | None:
    """`table[value]` for a string `value` it holds, else None (never unhashable-raises)."""
    return table.get(value) if isinstance(value, str) else None


def required(value: _T | None, what: str) -> _T:
    """`value`, or UnreadablePayloadError naming `what` was missing or of the wrong type."""
    if value is None:
        raise UnreadablePayloadError(f"{what} is missing or not of its type")
    return value
