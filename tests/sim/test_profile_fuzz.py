"""Fuzz invariant: any profile a schema lets through is accepted or refused, never a crash,
and the limits and composite schedule that follow are numbers."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from localctl.sim.composite import schedule_periods
from localctl.sim.ocpp_glue import iso_utc
from localctl.sim.profile_rules import V16, V201
from localctl.sim.profile_store import ProfileStore
from localctl.sim.profiles import profile_from_v16, profile_from_v201
from localctl.sim.quirks import StationQuirks

NOON = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
moments = st.integers(-86_400, 86_400).map(lambda s: iso_utc(NOON + timedelta(seconds=s)))
periods = st.lists(
    st.fixed_dictionaries(
        {"start_period": st.integers(0, 90_000), "limit": st.floats(-10.0, 50_000.0)},
        optional={"number_phases": st.integers(1, 3)},
    ),
    min_size=1,
    max_size=5,
)
schedules = st.fixed_dictionaries(
    {"charging_rate_unit": st.sampled_from(["A", "W"]), "charging_schedule_period": periods},
    optional={"start_schedule": moments, "duration": st.integers(0, 90_000)},
)
profile_fields = st.fixed_dictionaries(
    {
        "stack_level": st.integers(0, 10),
        "charging_profile_purpose": st.sampled_from(
            [
                "ChargePointMaxProfile",
                "ChargingStationMaxProfile",
                "ChargingStationExternalConstraints",
                "TxDefaultProfile",
                "TxProfile",
            ]
        ),
        "charging_profile_kind": st.sampled_from(["Absolute", "Recurring", "Relative"]),
    },
    optional={
        "recurrency_kind": st.sampled_from(["Daily", "Weekly"]),
        "valid_from": moments,
        "valid_to": moments,
        "transaction_id": st.sampled_from(["1", "tx-a"]),
    },
)
quirks = st.builds(
    StationQuirks,
    ignores_profiles=st.booleans(),
    watts_only=st.booleans(),
    slow_apply_s=st.sampled_from([0.0, 3.0]),
    max_stack_level=st.integers(0, 8),
)


def offered(store: ProfileStore, version: str, port: int, raw: dict[str, Any]) -> None:
    if version == V16:
        profile = profile_from_v16(port, raw, NOON)
    else:
        profile = profile_from_v201(port, raw, NOON)
    reason = store.offer(profile, NOON, version=version, transaction_id="1")
    assert reason is None or isinstance(reason, str)


@settings(max_examples=60)
@given(
    st.lists(st.tuples(profile_fields, schedules, st.integers(0, 3)), max_size=6),
    st.sampled_from([V16, V201]),
    quirks,
    st.integers(0, 2),
)
def test_any_profile_is_accepted_or_refused_and_limits_stay_numbers(
    entries: list[tuple[dict[str, Any], dict[str, Any], int]],
    version: str,
    station_quirks: StationQuirks,
    port: int,
) -> None:
    store = ProfileStore(32.0, ports=2, quirks=station_quirks)
    for index, (fields, schedule, target_port) in enumerate(entries):
        if version == V16:
            raw = {**fields, "charging_profile_id": index, "charging_schedule": schedule}
        else:
            raw = {**fields, "id": index, "charging_schedule": [{"id": 1, **schedule}]}
        offered(store, version, target_port, raw)
    for offset_s in (0, 59, 3600):
        assert math.isfinite(store.limit_a(port, NOON + timedelta(seconds=offset_s)))
    entries_w = schedule_periods(store, port, NOON, 7200, rate_unit="W", phases=3)
    assert entries_w[0]["start_period"] == 0
    assert all(math.isfinite(entry["limit"]) for entry in entries_w)
