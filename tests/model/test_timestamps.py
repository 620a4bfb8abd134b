from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from localctl.model.timestamps import format_timestamp, parse_timestamp

T = datetime(2026, 3, 1, 10, 0, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-03-01T10:00:05Z", T),
        ("2026-03-01T10:00:05z", T),
        ("2026-03-01T10:00:05", T),  # no zone: UTC
        ("2026-03-01T10:00:05.000Z", T),
        ("2026-03-01T10:00:05.123456789Z", T.replace(microsecond=123456)),
        ("2026-03-01T10:00:05.1+00:00", T.replace(microsecond=100000)),
        ("2026-03-01T11:00:05+01:00", T),
        ("2026-03-01T11:00:05+0100", T),
        ("2026-03-01 10:00:05", T),
        (" 2026-03-01T10:00:05Z ", T),
    ],
)
def test_common_forms_are_read_as_utc(text: str, expected: datetime) -> None:
    assert parse_timestamp(text) == expected


@pytest.mark.parametrize(
    "value",
    [
        None,
        17,
        "",
        "yesterday",
        "2026-13-01T00:00:00Z",
        "2026-03-01T25:00:00Z",
        "Z",
        ["x"],
        "9" * 100,
    ],
)
def test_unreadable_values_are_none(value: object) -> None:
    assert parse_timestamp(value) is None


def test_format_is_utc_with_z_and_reads_back() -> None:
    local = T.astimezone(timezone(timedelta(hours=2)))
    assert format_timestamp(local) == "2026-03-01T10:00:05.000Z"
    assert format_timestamp(T.replace(tzinfo=None)) == "2026-03-01T10:00:05.000Z"
    assert parse_timestamp(format_timestamp(T)) == T
