"""One allocation cycle: plans, admission, class-by-class fairness, quantization, results.

The objective, in strict order: (a) no row exceeded; (b) 0 or at least the minimum, by
admission rank; (c) higher classes first; (d) max-min fair within a class; (e) no capacity
idle while a session is below its cap, unless a row binds (progressive filling stops a
session only at a full row or at its own cap, so (e) follows from (d)).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from optimizer import result
from optimizer.admission import Admission, admit
from optimizer.demand import SessionPlan, plan_sessions
from optimizer.errors import InvalidInputError
from optimizer.exact import admit_exact, fill_exact
from optimizer.fairness import OWN_CAP, PRIORITY_HELD, Problem, solve_by_class
from optimizer.horizon import horizon_weights, stays_of
from optimizer.model import AllocatorState, EvseState, Options, Session, Site
from optimizer.quantize import Grid, Milliamps, quantize
from optimizer.report import evse_results, node_headrooms
from optimizer.topology import Topology
from optimizer.tree import SiteTree, build_tree
from optimizer.waterfill import fill_waterfill


def allocate(
    site: Site,
    sessions: Sequence[Session],
    now_s: float,
    options: Options | None = None,
    state: AllocatorState | None = None,
) -> result.Allocation:
    """Allocate current to every EVSE of ``site`` for the ``sessions`` plugged in now.

    Pure: the same arguments give the same result, bit for bit. Feed ``result.state`` back
    as ``state`` next cycle (rotation, probing and ramp depend on it).
    """
    options = options or Options()
    state = state or AllocatorState()
    tree = build_tree(site, state.topology)
    plans = make_plans(tree, sessions, now_s, options, state)
    admission = admit_exact(plans, tree) if options.method == "exact" else admit(plans, tree)
    chosen = [i for i, admitted in enumerate(admission.admitted) if admitted]
    problem, grid = build_problem(tree, plans, admission, chosen)
    if options.fairness == "horizon":
        problem = _plan_ahead(
            tree, problem, plans, admission, chosen=chosen, now_s=now_s, options=options
        )
    fill = fill_exact if options.method == "exact" else fill_waterfill
    value_a, binding = solve_by_class(problem, fill)
    value_ma = quantize(grid, value_a)
    reasons = _reasons(tree, plans, chosen, binding)
    limits = _limits_ma(plans, chosen, value_ma)
    return result.Allocation(
        evses=evse_results(tree, plans, admission, limits, reasons),
        nodes=node_headrooms(tree, plans, admission, limits, grid.row_load(value_ma).tolist()),
        state=_next_state(plans, admission, limits, now_s, tree.topology),
        method=options.method,
    )


def make_plans(
    tree: SiteTree,
    sessions: Sequence[Session],
    now_s: float,
    options: Options,
    state: AllocatorState,
) -> list[SessionPlan]:
    """One plan per session, sorted by evse_id (the order everything else follows)."""
    previous = {entry.evse_id: entry for entry in state.evses}
    evses = tree.evses
    by_evse: dict[str, Session] = {}
    for session in sessions:
        if session.evse_id not in evses:
            raise InvalidInputError(f"session at unknown evse {session.evse_id!r}")
        if session.evse_id in by_evse:
            raise InvalidInputError(f"two sessions at evse {session.evse_id!r}")
        by_evse[session.evse_id] = session
    order = sorted(by_evse)
    pairs = [(evses[evse_id], by_evse[evse_id]) for evse_id in order]
    voltages = [tree.voltage_v[evse.node_id] for evse, _ in pairs]
    prior = [previous.get(evse_id) for evse_id in order]
    return plan_sessions(pairs, prior, voltages, options, now_s)


def build_problem(
    tree: SiteTree, plans: Sequence[SessionPlan], admission: Admission, chosen: Sequence[int]
) -> tuple[Problem, Grid]:
    """The admitted sessions as a continuous problem and as its integer grid."""
    topology = tree.topology
    phases = admission.grid_phases
    kinds = [topology.kind(plans[i].evse.node_id, phases[i]) for i in chosen]
    entry_row, entry_col, coefs = topology.table.entries(np.asarray(kinds, dtype=np.intp))
    capacity_ma = tree.capacity_ma
    floor_ma = np.asarray([plans[i].floor_ma for i in chosen], dtype=np.int64)
    cap_ma = np.asarray([plans[i].cap_ma for i in chosen], dtype=np.int64)
    priority = np.asarray([plans[i].session.priority for i in chosen], dtype=np.int64)
    problem = Problem(
        entry_row=entry_row,
        entry_col=entry_col,
        entry_coef=coefs.astype(np.float64),
        capacity_a=capacity_ma / 1000.0,
        lower_a=floor_ma / 1000.0,
        upper_a=cap_ma / 1000.0,
        weight=np.asarray([plans[i].weight for i in chosen], dtype=np.float64),
        priority=priority,
    )
    grid = Grid(
        entry_row=entry_row,
        entry_col=entry_col,
        entry_coef=coefs.astype(np.int64),
        capacity_ma=capacity_ma,
        step_ma=np.asarray([plans[i].step_ma for i in chosen], dtype=np.int64),
        floor_ma=floor_ma,
        cap_ma=cap_ma,
        priority=priority,
    )
    return problem, grid


def _plan_ahead(
    tree: SiteTree,
    problem: Problem,
    plans: Sequence[SessionPlan],
    admission: Admission,
    *,
    chosen: Sequence[int],
    now_s: float,
    options: Options,
) -> Problem:
    """The problem with each session weighted by its planned share (see ``horizon``)."""
    admitted = [plans[i] for i in chosen]
    phases = [admission.grid_phases[i] for i in chosen]
    voltages = [tree.voltage_v[plan.evse.node_id] for plan in admitted]
    stays = stays_of(admitted, phases, voltages, now_s, options)
    return dataclasses.replace(problem, weight=horizon_weights(problem, stays))


def _limits_ma(
    plans: Sequence[SessionPlan], chosen: Sequence[int], value_ma: Milliamps
) -> list[int]:
    limits = [0] * len(plans)
    for col, index in enumerate(chosen):
        limits[index] = int(value_ma[col])
    return limits


def _reasons(
    tree: SiteTree,
    plans: Sequence[SessionPlan],
    chosen: Sequence[int],
    binding: NDArray[np.intp],
) -> list[str]:
    reasons = [
        plan.cap_reason if plan.cap_ma <= 0 else result.MIN_CURRENT_ADMISSION for plan in plans
    ]
    for col, index in enumerate(chosen):
        row = int(binding[col])
        if row == OWN_CAP:
            reasons[index] = plans[index].cap_reason
        elif row == PRIORITY_HELD:
            reasons[index] = result.PRIORITY
        else:
            reasons[index] = tree.rows[row].label
    return reasons


def _next_state(
    plans: Sequence[SessionPlan],
    admission: Admission,
    limits: Sequence[int],
    now_s: float,
    topology: Topology,
) -> AllocatorState:
    entries = []
    for plan, admitted, limit_ma in zip(plans, admission.admitted, limits, strict=True):
        entries.append(_evse_state(plan, admitted, limit_ma, now_s))
    return AllocatorState(tuple(entries), topology)


def _evse_state(plan: SessionPlan, admitted: bool, limit_ma: int, now_s: float) -> EvseState:
    """Admitted since when (kept while admitted), waiting since when (kept while held)."""
    admitted_since = None
    waiting_since = None
    if admitted:
        admitted_since = plan.admitted_since_s if plan.admitted_since_s is not None else now_s
    elif plan.cap_ma > 0:
        waiting_since = plan.waiting_since_s if plan.waiting_since_s is not None else now_s
    # Positional: this runs once per session per cycle.
    return EvseState(
        plan.evse.evse_id,
        plan.session.arrival_s,
        limit_ma / 1000.0,
        admitted_since,
        waiting_since,
        plan.probe_started_s,
    )
