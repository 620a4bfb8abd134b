"""What each session asks for this cycle: its floor, its cap and why, its rank inputs.

Caps come from the EVSE, the EV, the energy still needed within one period, the unused
capacity rule and the ramp; the lowest wins and is named. Unused capacity: a session
drawing less than it is allowed is capped at its draw plus a margin, except during a probe
(the first ``probe_hold_s`` of a session, then again every ``probe_interval_s``), when the
cap is lifted so that a vehicle that recovers can show it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

from optimizer import result
from optimizer.model import Evse, EvseState, Options, Session
from optimizer.tree import to_ma

MIN_WEIGHT_A = 0.1  # keeps every weight positive: a level still raises everyone


@dataclass(frozen=True, slots=True)
class PlanContext:
    """What every session's plan shares this cycle (the voltage is the EVSE's node's)."""

    options: Options
    now_s: float
    voltage_v: float


class SessionPlan(NamedTuple):
    """One session's bounds (integer mA, on its step grid) and the inputs to its rank.

    A named tuple rather than a dataclass: thousands are built every cycle.
    """

    evse: Evse
    session: Session
    step_ma: int
    floor_ma: int
    cap_ma: int
    cap_reason: str
    grid_phases: tuple[int, ...]
    single_phase: tuple[int, ...] | None
    laxity_s: float
    turn_s: float
    protected: bool
    probe_started_s: float
    admitted_since_s: float | None
    waiting_since_s: float | None
    weight: float


def plan_session(
    evse: Evse,
    session: Session,
    previous: EvseState | None,
    context: PlanContext,
) -> SessionPlan:
    """Bounds for one session. ``previous`` is ignored unless it is the same session."""
    options, now_s = context.options, context.now_s
    if previous is not None and previous.arrival_s != session.arrival_s:
        previous = None
    step_ma = to_ma(evse.current_step_a or options.default_step_a)
    floor_ma = _ceil_to_step(to_ma(evse.min_current_a), step_ma)
    probe_started_s = _probe_start(previous, options, now_s)
    cap_a, reason = _lowest(_caps(evse, session, previous, context, probe_started_s))
    cap_ma = to_ma(cap_a) // step_ma * step_ma
    if cap_ma > 0:
        cap_ma = max(cap_ma, floor_ma)
    # Positional (in field order): this runs once per session per cycle.
    return SessionPlan(
        evse,
        session,
        step_ma,
        floor_ma,
        cap_ma,
        reason,
        _grid_phases(evse, session.phases_in_use),
        (evse.phase_map[0],) if _can_go_single(evse, session) else None,
        _laxity_s(evse, session, context),
        _turn_s(previous, now_s),
        _protected(previous, options, now_s),
        probe_started_s,
        previous.admitted_since_s if previous else None,
        previous.waiting_since_s if previous else None,
        _weight(session, context, cap_ma),
    )


def _lowest(caps: list[tuple[float, str]]) -> tuple[float, str]:
    """The lowest cap; on a tie the one listed first."""
    best = caps[0]
    for cap in caps[1:]:
        if cap[0] < best[0]:
            best = cap
    return best


def _weight(session: Session, context: PlanContext, cap_ma: int) -> float:
    """1 for equal sharing; for deadline sharing the current needed to finish on time (A)."""
    if context.options.fairness == "equal":
        return 1.0
    cap_a = max(cap_ma / 1000.0, MIN_WEIGHT_A)
    if session.departure_s is None or session.energy_needed_wh is None:
        return cap_a
    left_s = session.departure_s - context.now_s
    if left_s <= 0:
        return cap_a
    phases = session.phases_in_use or 1
    needed_a = session.energy_needed_wh * 3600.0 / (left_s * context.voltage_v * phases)
    return min(max(needed_a, MIN_WEIGHT_A), cap_a)


def _ceil_to_step(value_ma: int, step_ma: int) -> int:
    return -(-value_ma // step_ma) * step_ma


def _caps(
    evse: Evse,
    session: Session,
    previous: EvseState | None,
    context: PlanContext,
    probe_started_s: float,
) -> list[tuple[float, str]]:
    options = context.options
    # Listed in the order that names a tie: the hardware first, then the vehicle.
    caps = [(evse.max_current_a, result.EVSE_MAX)]
    if session.ev_max_current_a is not None:
        caps.append((session.ev_max_current_a, result.EV_MAX))
    if session.energy_needed_wh is not None:
        caps.append((_energy_cap_a(session, context), result.ENERGY_NEEDED))
    probing = context.now_s - probe_started_s < options.probe_hold_s
    if session.measured_current_a and not probing:
        drawn_a = max(session.measured_current_a)
        caps.append((drawn_a + options.unused_margin_a, result.UNUSED_CAPACITY))
    if options.max_increase_a_per_cycle is not None:
        last_a = previous.limit_a if previous is not None else 0.0
        ramp_a = max(last_a + options.max_increase_a_per_cycle, evse.min_current_a)
        caps.append((ramp_a, result.RAMP))
    return caps


def _energy_cap_a(session: Session, context: PlanContext) -> float:
    """The current that delivers the remaining energy within one period (never more needed).

    Unknown phases count as one phase, which gives the larger (never too small) cap.
    """
    energy_wh = session.energy_needed_wh or 0.0
    phases = session.phases_in_use or 1
    return energy_wh * 3600.0 / (context.options.period_s * context.voltage_v * phases)


def _grid_phases(evse: Evse, phases_in_use: int | None) -> tuple[int, ...]:
    """Grid phases the session may load: worst case (all wired) when unknown."""
    if phases_in_use is None or phases_in_use >= evse.phase_count:
        return tuple(sorted(evse.phase_map))
    return tuple(sorted(evse.phase_map[:phases_in_use]))


def _can_go_single(evse: Evse, session: Session) -> bool:
    return evse.can_switch_phases and evse.phase_count == 3 and session.phases_in_use != 1


def _laxity_s(evse: Evse, session: Session, context: PlanContext) -> float:
    """Time to spare before departure at full rate; infinite when not known."""
    if session.departure_s is None or session.energy_needed_wh is None:
        return math.inf
    rate_a = min(evse.max_current_a, session.ev_max_current_a or evse.max_current_a)
    phases = session.phases_in_use or evse.phase_count
    rate_w = max(rate_a * phases * context.voltage_v, 1e-9)
    return session.departure_s - context.now_s - session.energy_needed_wh * 3600.0 / rate_w


def _turn_s(previous: EvseState | None, now_s: float) -> float:
    """Larger means its turn: waiting time, or minus the time already admitted."""
    if previous is None:
        return 0.0
    if previous.waiting_since_s is not None:
        return now_s - previous.waiting_since_s
    if previous.admitted_since_s is not None:
        return previous.admitted_since_s - now_s
    return 0.0


def _protected(previous: EvseState | None, options: Options, now_s: float) -> bool:
    """An admitted session keeps its slot for one rotation interval (no flapping)."""
    if previous is None or previous.admitted_since_s is None:
        return False
    return now_s - previous.admitted_since_s < options.rotation_interval_s


def _probe_start(previous: EvseState | None, options: Options, now_s: float) -> float:
    if previous is None or now_s - previous.probe_started_s >= options.probe_interval_s:
        return now_s
    return previous.probe_started_s
