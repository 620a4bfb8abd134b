from __future__ import annotations

import pytest

from localctl.model.errors import UnreadablePayloadError
from localctl.model.payload import (
    as_number,
    bool_at,
    integer_at,
    lookup,
    objects_at,
    required,
    text_at,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(7, 7.0), (7.5, 7.5), ("7.5", 7.5), (" 12 ", 12.0), ("12,5", 12.5), ("1e3", 1000.0)],
)
def test_numbers_from_json_numbers_and_decimal_strings(value: object, expected: float) -> None:
    assert as_number(value) == expected


@pytest.mark.parametrize("value", [True, None, "NaN", "inf", "1e999", 10**400, "x", [1], {}])
def test_non_numbers_and_non_finite_values_are_none(value: object) -> None:
    assert as_number(value) is None


def test_typed_reads_never_raise_on_the_wrong_type() -> None:
    payload = {"a": True, "b": "1", "c": [1, {"x": 1}, "y"], "d": 3, "e": False}
    assert integer_at(payload, "a") is None
    assert integer_at(payload, "d") == 3
    assert text_at(payload, "d") is None
    assert objects_at(payload, "c") == [{"x": 1}]
    assert objects_at(payload, "b") == []
    assert bool_at(payload, "e") is False
    assert lookup({"A": 1}, ["A"]) is None


def test_required_names_what_is_missing() -> None:
    assert required(0, "zero") == 0
    with pytest.raises(UnreadablePayloadError, match="connectorId"):
        required(None, "connectorId")
