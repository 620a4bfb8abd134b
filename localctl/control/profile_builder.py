"""The charging profiles that carry a limit to a station, per strategy (see `strategy`).

Profile ids come from a range the controller reserves (2,100,000,000 and up, within the 32-bit
ids both versions use), and each kind of limit keeps its id: sending it again replaces the
previous one (1.6 section 5.16.1, 2.0.1 K01.FR.05) instead of piling profiles up.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from localctl.control.strategy import ProfileStrategy
from localctl.model.profiles import ProfileKind, ProfilePurpose, ProfileSpec
from localctl.model.schedules import RateUnit, SchedulePeriod, amps_per_phase_to_watts

PROFILE_ID_BASE = 2_100_000_000
_FLOOR_ID = PROFILE_ID_BASE + 1
_LEASE_ID = PROFILE_ID_BASE + 2
_EVSE_ID_BASE = PROFILE_ID_BASE + 100


def is_own_profile_id(profile_id: int) -> bool:
    return profile_id >= PROFILE_ID_BASE


@dataclass(frozen=True, slots=True)
class LimitTarget:
    """Where a limit goes: the station (evse 0) or one of its EVSEs."""

    kind: str  # floor, lease, evse
    ocpp_evse_id: int = 0
    transaction_id: str | None = None


def build_profile(
    target: LimitTarget,
    limit_a: float,
    phases: int,
    strategy: ProfileStrategy,
    *,
    now: datetime,
    nominal_voltage_v: float,
) -> ProfileSpec:
    """The profile for `limit_a` per phase on `phases` phases, starting `now` (UTC)."""
    unit, limit = RateUnit.AMPERE, round(limit_a, 1)
    if strategy.unit == "W":  # K01.FR.50: W from the nominal voltage and the phases
        watts = amps_per_phase_to_watts(limit_a, nominal_voltage_v, phases)
        unit, limit = RateUnit.WATT, float(round(watts))
    start = now.astimezone(UTC).replace(microsecond=0)
    # Whole seconds on the wire: the start rounds down, the end up, so a lease never comes
    # out shorter than `lease_s`.
    lease_end = start + timedelta(seconds=math.ceil(strategy.lease_s) + 1)
    if target.kind == "floor":
        profile_id, purpose, stack_level, valid_to = (
            _FLOOR_ID, ProfilePurpose.STATION_MAX, strategy.floor_stack_level, None,
        )  # fmt: skip
    elif target.kind == "lease":
        profile_id, purpose, stack_level, valid_to = (
            _LEASE_ID, ProfilePurpose.STATION_MAX, strategy.station_lease_stack_level, lease_end,
        )  # fmt: skip
    else:
        use_tx = strategy.use_tx_profile and target.transaction_id is not None
        profile_id = _EVSE_ID_BASE + target.ocpp_evse_id
        purpose = ProfilePurpose.TX if use_tx else ProfilePurpose.TX_DEFAULT
        stack_level, valid_to = strategy.evse_stack_level, lease_end
    return ProfileSpec(
        profile_id=profile_id,
        purpose=purpose,
        stack_level=stack_level,
        evse_id=target.ocpp_evse_id if target.kind == "evse" else 0,
        kind=ProfileKind.ABSOLUTE,
        rate_unit=unit,
        periods=(SchedulePeriod(0, limit, number_phases=phases),),
        schedule_start=start,
        transaction_id=target.transaction_id if purpose is ProfilePurpose.TX else None,
        valid_to=valid_to,
    )
