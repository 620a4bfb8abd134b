"""The limit a station's profiles give an EVSE at one moment, and which profile bound it.

Rules (OCPP 1.6 sections 3.13.2-3.13.3; 2.0.1 K01 and SC.01):
- a profile is valid from `valid_from` (inclusive, K01.FR.36) to `valid_to` (exclusive,
  K01.FR.37); its schedule starts at `schedule_start` (Absolute, K01.FR.30), at the latest
  recurrence of it (Recurring), or at the session's start (Relative); a period runs until
  the next one starts or the duration ends (K01.FR.11-12), after which the profile is out of
  force and a lower stack level shows through;
- within a purpose the highest stack level in force wins (1.6 section 3.13.2, K01.FR.17);
  at equal levels a profile for this EVSE beats one for EVSE 0 (1.6 section 3.13.1);
- a TxProfile in force overrides every TxDefaultProfile (1.6 section 3.13.1);
- the limit is the lowest of the winning station maximum, external constraints, and
  TxProfile-or-TxDefaultProfile (1.6 section 3.13.3, SC.01), compared per phase in A.
The station maximum is the whole station's budget; as a bound on one EVSE it still caps.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from localctl.model.profiles import ProfileKind, ProfilePurpose, ProfileSpec, Recurrency
from localctl.model.schedules import SchedulePeriod, period_limit_a

_RECURRENCE = {Recurrency.DAILY: timedelta(days=1), Recurrency.WEEKLY: timedelta(weeks=1)}
_CAP_PURPOSES = (ProfilePurpose.STATION_MAX, ProfilePurpose.EXTERNAL_CONSTRAINTS)


def composite_limit_at(
    specs: Iterable[ProfileSpec],
    at: datetime,
    evse_id: int,
    nominal_voltage_v: float,
    phases: int,
    *,
    transaction_id: str | None = None,
    relative_start: datetime | None = None,
) -> tuple[float | None, int | None]:
    """(limit per phase in A, id of the profile that set it), or (None, None) when no profile
    is in force. `phases` converts W limits whose period gives no numberPhases (compliant
    stations assume 3: 1.6 section 7.12, K01.FR.49). TxProfiles of another transaction than
    `transaction_id` (when given) are ignored. Relative schedules count from
    `relative_start`, or from `at` when it is unknown (their first period applies)."""
    candidates = [spec for spec in specs if _applies_to(spec, evse_id, transaction_id)]
    winners = [_winner(candidates, purpose, at, relative_start) for purpose in _CAP_PURPOSES]
    if evse_id != 0:
        tx = _winner(candidates, ProfilePurpose.TX, at, relative_start)
        winners.append(tx or _winner(candidates, ProfilePurpose.TX_DEFAULT, at, relative_start))
    limits = [
        (period_limit_a(period, spec.rate_unit, nominal_voltage_v, phases), spec.profile_id)
        for spec, period in filter(None, winners)
    ]
    if not limits:
        return None, None
    limit_a, profile_id = min(limits, key=lambda pair: pair[0])
    return limit_a, profile_id


def period_in_force(
    spec: ProfileSpec, at: datetime, relative_start: datetime | None = None
) -> SchedulePeriod | None:
    """The schedule period of `spec` in force at `at`, or None when it is out of force."""
    if (spec.valid_from and at < spec.valid_from) or (spec.valid_to and at >= spec.valid_to):
        return None
    start = _schedule_start(spec, at, relative_start)
    if start is None or at < start:
        return None
    elapsed_s = (at - start).total_seconds()
    if spec.duration_s is not None and elapsed_s >= spec.duration_s:
        return None
    started = [period for period in spec.periods if period.start_offset_s <= elapsed_s]
    return started[-1] if started else None


def _schedule_start(
    spec: ProfileSpec, at: datetime, relative_start: datetime | None
) -> datetime | None:
    if spec.kind is ProfileKind.RELATIVE:
        return relative_start or at
    if spec.schedule_start is None or spec.recurrency is None:
        return spec.schedule_start
    cycle = _RECURRENCE[spec.recurrency]
    if at < spec.schedule_start:
        return spec.schedule_start
    return spec.schedule_start + cycle * ((at - spec.schedule_start) // cycle)


def _applies_to(spec: ProfileSpec, evse_id: int, transaction_id: str | None) -> bool:
    if spec.purpose is ProfilePurpose.STATION_MAX:
        return spec.evse_id == 0
    if spec.purpose is ProfilePurpose.TX:
        same_transaction = transaction_id is None or spec.transaction_id in (None, transaction_id)
        return spec.evse_id == evse_id and same_transaction
    return spec.evse_id in (0, evse_id)


def _winner(
    specs: list[ProfileSpec],
    purpose: ProfilePurpose,
    at: datetime,
    relative_start: datetime | None,
) -> tuple[ProfileSpec, SchedulePeriod] | None:
    in_force = [
        (spec, period)
        for spec in specs
        if spec.purpose is purpose
        and (period := period_in_force(spec, at, relative_start)) is not None
    ]
    if not in_force:
        return None
    return max(in_force, key=lambda pair: (pair[0].stack_level, pair[0].evse_id != 0))
