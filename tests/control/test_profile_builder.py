from __future__ import annotations

from datetime import UTC, datetime

import pytest

from localctl.control.profile_builder import LimitTarget, build_profile, is_own_profile_id
from localctl.control.strategy import STRATEGIES
from localctl.model.profiles import ProfilePurpose
from localctl.relay.schemas import SchemaRegistry
from localctl.relay.versions import OcppVersion

NOW = datetime(2026, 11, 22, 10, 0, 0, 123456, tzinfo=UTC)
SCHEMAS = SchemaRegistry()


@pytest.mark.parametrize("version", [OcppVersion.V16, OcppVersion.V201])
@pytest.mark.parametrize(
    "target",
    [
        LimitTarget("floor"),
        LimitTarget("lease"),
        LimitTarget("evse", 2),
        LimitTarget("evse", 2, "77"),
    ],
)
def test_every_profile_is_schema_valid_in_both_versions(
    version: OcppVersion, target: LimitTarget
) -> None:
    spec = build_profile(target, 13.0, 3, STRATEGIES["default"], now=NOW, nominal_voltage_v=230)
    payload = spec.to_payload(version)
    assert SCHEMAS.validate(version, "SetChargingProfile", payload, is_response=False) is None
    assert is_own_profile_id(spec.profile_id)


def test_floors_are_permanent_and_below_the_lease_which_expires() -> None:
    strategy = STRATEGIES["default"]
    floor = build_profile(LimitTarget("floor"), 10, 3, strategy, now=NOW, nominal_voltage_v=230)
    lease = build_profile(LimitTarget("lease"), 40, 3, strategy, now=NOW, nominal_voltage_v=230)
    assert floor.purpose is lease.purpose is ProfilePurpose.STATION_MAX
    assert floor.valid_to is None and floor.stack_level < lease.stack_level
    # 120 s from 10:00:00.12 in whole seconds: never shorter than the lease.
    assert lease.valid_to == datetime(2026, 11, 22, 10, 2, 1, tzinfo=UTC)
    assert floor.profile_id != lease.profile_id


def test_evse_limits_use_txprofile_during_a_transaction_unless_the_strategy_says_not() -> None:
    during = build_profile(
        LimitTarget("evse", 1, "42"), 16, 3, STRATEGIES["default"], now=NOW, nominal_voltage_v=230
    )
    idle = build_profile(
        LimitTarget("evse", 1), 16, 3, STRATEGIES["default"], now=NOW, nominal_voltage_v=230
    )
    quirky = build_profile(
        LimitTarget("evse", 1, "42"),
        16,
        3,
        STRATEGIES["tx-default-only"],
        now=NOW,
        nominal_voltage_v=230,
    )
    assert (during.purpose, during.transaction_id) == (ProfilePurpose.TX, "42")
    assert (idle.purpose, quirky.purpose) == (ProfilePurpose.TX_DEFAULT, ProfilePurpose.TX_DEFAULT)
    assert quirky.transaction_id is None
    assert during.profile_id == idle.profile_id  # the new one replaces the old (K01.FR.05)


def test_watts_only_stations_get_watts_from_voltage_and_phases() -> None:
    spec = build_profile(
        LimitTarget("evse", 1), 16, 3, STRATEGIES["watts-only"], now=NOW, nominal_voltage_v=230
    )
    assert spec.rate_unit.value == "W"
    assert spec.periods[0].limit == 16 * 230 * 3
