"""What each session asks for this cycle: its floor, its cap and why, its rank inputs.

Caps come from the EVSE, the EV, the energy still needed within one period, the unused
capacity rule and the ramp; the lowest wins and is named. Unused capacity: a session
drawing less than it is allowed is capped at its draw plus a margin, except during a probe
(the first ``probe_hold_s`` of a session, then again every ``probe_interval_s``), when the
cap is lifted so that a vehicle that recovers can show it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from optimizer import result
from optimizer.model import Evse, EvseState, Options, Session

Floats = NDArray[np.float64]

MIN_WEIGHT_A = 0.1  # keeps every weight positive: a level still raises everyone


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


def plan_sessions(
    pairs: Sequence[tuple[Evse, Session]],
    previous: Sequence[EvseState | None],
    voltages_v: Sequence[float],
    options: Options,
    now_s: float,
) -> list[SessionPlan]:
    """One plan per (EVSE, session) pair, in the same order, computed as arrays.

    ``previous`` is each EVSE's state from the last cycle; it is ignored unless it belongs to
    the same session (same arrival). ``voltages_v`` is the voltage of each EVSE's node.
    """
    if not pairs:
        return []
    evses = [evse for evse, _ in pairs]
    sessions = [session for _, session in pairs]
    prior = [
        p if p is not None and p.arrival_s == s.arrival_s else None
        for p, s in zip(previous, sessions, strict=True)
    ]
    voltage = np.asarray(voltages_v, dtype=np.float64)
    step_ma = _to_ma([e.current_step_a or options.default_step_a for e in evses])
    floor_ma = -(-_to_ma([e.min_current_a for e in evses]) // step_ma) * step_ma
    probe_s = np.asarray(
        [
            now_s
            if p is None or now_s - p.probe_started_s >= options.probe_interval_s
            else p.probe_started_s
            for p in prior
        ]
    )
    caps = _cap_matrix(
        evses, sessions, prior, voltage=voltage, probe_s=probe_s, options=options, now_s=now_s
    )
    lowest = np.argmin(caps, axis=0)  # the first listed wins a tie
    cap_a = caps[lowest, np.arange(len(pairs))]
    cap_ma = _to_ma(cap_a) // step_ma * step_ma
    cap_ma = np.where(cap_ma > 0, np.maximum(cap_ma, floor_ma), cap_ma)
    phase_options = _phase_options(evses, sessions)
    return list(
        map(
            SessionPlan._make,
            zip(
                evses,
                sessions,
                step_ma.tolist(),
                floor_ma.tolist(),
                cap_ma.tolist(),
                [CAP_REASONS[k] for k in lowest.tolist()],
                [grid for grid, _ in phase_options],
                [single for _, single in phase_options],
                _laxities_s(evses, sessions, voltage, now_s).tolist(),
                [_turn_s(p, now_s) for p in prior],
                [_protected(p, options, now_s) for p in prior],
                probe_s.tolist(),
                [p.admitted_since_s if p else None for p in prior],
                [p.waiting_since_s if p else None for p in prior],
                _weights(sessions, cap_ma, voltage, options, now_s).tolist(),
                strict=True,
            ),
        )
    )


# The caps, in the order that names a tie: the hardware first, then the vehicle.
CAP_REASONS = (
    result.EVSE_MAX,
    result.EV_MAX,
    result.ENERGY_NEEDED,
    result.UNUSED_CAPACITY,
    result.RAMP,
)


def _to_ma(values_a: Sequence[float] | Floats) -> NDArray[np.int64]:
    """Milliamps rounded down, as tree.to_ma, for many values at once."""
    scaled = np.floor(np.asarray(values_a, dtype=np.float64) * 1000.0 + 1e-6)
    return np.maximum(scaled, 0.0).astype(np.int64)


def _optional(values: Sequence[float | None]) -> Floats:
    """None becomes NaN."""
    return np.asarray([math.nan if v is None else v for v in values], dtype=np.float64)


def _cap_matrix(
    evses: list[Evse],
    sessions: list[Session],
    prior: list[EvseState | None],
    *,
    voltage: Floats,
    probe_s: Floats,
    options: Options,
    now_s: float,
) -> Floats:
    """Rows: the caps of CAP_REASONS (inf where one does not apply); columns: sessions."""
    caps = np.full((len(CAP_REASONS), len(evses)), np.inf)
    caps[0] = [e.max_current_a for e in evses]
    ev_max = _optional([s.ev_max_current_a for s in sessions])
    caps[1] = np.where(np.isnan(ev_max), np.inf, ev_max)
    # Unknown phases count as one phase: the larger, never too small, energy cap.
    energy_wh = _optional([s.energy_needed_wh for s in sessions])
    phases = np.asarray([s.phases_in_use or 1 for s in sessions], dtype=np.float64)
    energy_cap_a = energy_wh * 3600.0 / (options.period_s * voltage * phases)
    caps[2] = np.where(np.isnan(energy_wh), np.inf, energy_cap_a)
    drawn_a = _optional(
        [max(s.measured_current_a) if s.measured_current_a else None for s in sessions]
    )
    probing = now_s - probe_s < options.probe_hold_s
    caps[3] = np.where(np.isnan(drawn_a) | probing, np.inf, drawn_a + options.unused_margin_a)
    if options.max_increase_a_per_cycle is not None:
        last_a = np.asarray([p.limit_a if p is not None else 0.0 for p in prior])
        minimum_a = np.asarray([e.min_current_a for e in evses])
        caps[4] = np.maximum(last_a + options.max_increase_a_per_cycle, minimum_a)
    return caps


def _phase_options(
    evses: list[Evse], sessions: list[Session]
) -> list[tuple[tuple[int, ...], tuple[int, ...] | None]]:
    """Per session: the grid phases it may load (all wired when unknown) and, when it may
    switch, its one-phase alternative. Memoised: few distinct wirings exist."""
    memo: dict[
        tuple[tuple[int, ...], int | None, bool], tuple[tuple[int, ...], tuple[int, ...] | None]
    ] = {}
    found = []
    for evse, session in zip(evses, sessions, strict=True):
        key = (evse.phase_map, session.phases_in_use, evse.can_switch_phases)
        options = memo.get(key)
        if options is None:
            options = memo[key] = (
                _grid_phases(evse, session.phases_in_use),
                (evse.phase_map[0],) if _can_go_single(evse, session) else None,
            )
        found.append(options)
    return found


def _laxities_s(
    evses: list[Evse], sessions: list[Session], voltage: Floats, now_s: float
) -> Floats:
    """Time to spare before departure at full rate; infinite when not known."""
    departure_s = _optional([s.departure_s for s in sessions])
    energy_wh = _optional([s.energy_needed_wh for s in sessions])
    rate_a = np.asarray(
        [
            min(e.max_current_a, s.ev_max_current_a or e.max_current_a)
            for e, s in zip(evses, sessions, strict=True)
        ]
    )
    phases = np.asarray(
        [s.phases_in_use or e.phase_count for e, s in zip(evses, sessions, strict=True)],
        dtype=np.float64,
    )
    rate_w = np.maximum(rate_a * phases * voltage, 1e-9)
    laxity: Floats = departure_s - now_s - energy_wh * 3600.0 / rate_w
    return np.where(np.isnan(laxity), np.inf, laxity)


def _weights(
    sessions: list[Session],
    cap_ma: NDArray[np.int64],
    voltage: Floats,
    options: Options,
    now_s: float,
) -> Floats:
    """For deadline sharing the current needed to finish on time (A); else 1 (the horizon
    weights replace these once the admitted rows are known)."""
    if options.fairness != "deadline":
        return np.ones(len(sessions))
    cap_a = np.maximum(cap_ma / 1000.0, MIN_WEIGHT_A)
    left_s = _optional([s.departure_s for s in sessions]) - now_s
    energy_wh = _optional([s.energy_needed_wh for s in sessions])
    phases = np.asarray([s.phases_in_use or 1 for s in sessions], dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        needed_a = energy_wh * 3600.0 / (left_s * voltage * phases)
    known = ~np.isnan(needed_a) & (left_s > 0)
    weight: Floats = np.where(known, np.minimum(np.maximum(needed_a, MIN_WEIGHT_A), cap_a), cap_a)
    return weight


def _grid_phases(evse: Evse, phases_in_use: int | None) -> tuple[int, ...]:
    """Grid phases the session may load: worst case (all wired) when unknown."""
    if phases_in_use is None or phases_in_use >= evse.phase_count:
        return tuple(sorted(evse.phase_map))
    return tuple(sorted(evse.phase_map[:phases_in_use]))


def _can_go_single(evse: Evse, session: Session) -> bool:
    return evse.can_switch_phases and evse.phase_count == 3 and session.phases_in_use != 1


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
