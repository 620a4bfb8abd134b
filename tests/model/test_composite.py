from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from localctl.model.composite import composite_limit_at, period_in_force
from localctl.model.profiles import ProfileKind, ProfilePurpose, ProfileSpec
from localctl.model.schedules import RateUnit, SchedulePeriod
from localctl.model.timestamps import parse_timestamp
from localctl.relay.versions import OcppVersion

GOLDEN = json.loads((Path(__file__).parent / "composite_golden.json").read_text())
QUERIES = [
    pytest.param(case, query, id=f"{case['name']} @ {query['at']} evse {query['evse_id']}")
    for case in GOLDEN["cases"]
    for query in case["queries"]
]


@pytest.mark.parametrize(("case", "query"), QUERIES)
def test_golden_composite_limits(case: dict[str, Any], query: dict[str, Any]) -> None:
    version = OcppVersion(case["version"])
    specs = [ProfileSpec.from_payload(version, payload) for payload in case["profiles"]]
    limit_a, bound_by = composite_limit_at(
        specs,
        parse_timestamp(query["at"]) or datetime.min,
        query["evse_id"],
        230.0,
        3,
        transaction_id=query.get("transaction_id"),
        relative_start=parse_timestamp(query.get("relative_start")),
    )
    expected = query["expect_limit_a"]
    assert limit_a == (None if expected is None else pytest.approx(expected))
    assert bound_by == query["expect_bound_by"]


def test_no_profiles_means_no_limit() -> None:
    at = datetime(2026, 3, 1, tzinfo=UTC)
    assert composite_limit_at([], at, 1, 230.0, 3) == (None, None)


def test_a_relative_profile_without_a_known_start_applies_its_first_period() -> None:
    spec = ProfileSpec(
        1,
        ProfilePurpose.TX_DEFAULT,
        0,
        1,
        ProfileKind.RELATIVE,
        RateUnit.AMPERE,
        (SchedulePeriod(0, 6.0), SchedulePeriod(60, 32.0)),
    )
    at = datetime(2026, 3, 1, tzinfo=UTC)
    assert period_in_force(spec, at) == SchedulePeriod(0, 6.0)
    assert period_in_force(spec, at, at - timedelta(minutes=5)) == SchedulePeriod(60, 32.0)
