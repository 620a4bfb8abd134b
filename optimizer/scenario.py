"""Scenario documents (JSON) to and from the model, and allocations to JSON-ready dicts.

A scenario is a site, the sessions at one instant, options and state, and optionally the
expected allocation; ``then`` continues with later instants, the state carried over. The
format is specified by ``scenario.schema.json`` in this package; validate a document
against it before parsing (``cli.read_scenario`` does). Pure: dicts in, dataclasses out.
Phases are written "L1", "L2", "L3" in documents and are 0, 1, 2 in the model.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from optimizer.allocate import allocate
from optimizer.errors import InvalidInputError
from optimizer.model import (
    AllocatorState,
    Evse,
    EvseState,
    Node,
    NodeLimit,
    Options,
    PhaseMix,
    Session,
    Site,
)
from optimizer.result import Allocation

PHASES = ("L1", "L2", "L3")
Document = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Expected:
    """What a golden scenario expects for one EVSE (None: not checked)."""

    limit_a: float
    bound_by: str | None = None
    phases: int | None = None


@dataclass(frozen=True, slots=True)
class Step:
    """One instant: the sessions present and, optionally, the expected result."""

    now_s: float
    sessions: tuple[Session, ...]
    expected: Mapping[str, Expected] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Scenario:
    description: str
    site: Site
    options: Options
    state: AllocatorState
    steps: tuple[Step, ...]


def parse_scenario(document: Document) -> Scenario:
    """Build a scenario from a (schema-valid) document."""
    site = Site(
        nodes=tuple(_node(item) for item in document["site"]["nodes"]),
        evses=tuple(_evse(item) for item in document["site"]["evses"]),
    )
    first = _step(document, ())
    steps = [first]
    for later in document.get("then", []):
        steps.append(_step(later, steps[-1].sessions))
    return Scenario(
        description=document.get("description", ""),
        site=site,
        options=Options(**document.get("options", {})),
        state=AllocatorState(tuple(EvseState(**e) for e in document.get("state", []))),
        steps=tuple(steps),
    )


def phase_index(name: str) -> int:
    if name not in PHASES:
        raise InvalidInputError(f"phase {name!r} is not one of L1, L2, L3")
    return PHASES.index(name)


def _triple(values: list[float]) -> tuple[float, float, float]:
    return (float(values[0]), float(values[1]), float(values[2]))


def _node(item: Document) -> Node:
    limits = tuple(
        NodeLimit(
            source=limit["source"],
            max_current_a=_triple(limit["max_current_a"]) if "max_current_a" in limit else None,
            max_power_w=limit.get("max_power_w"),
            mixes=tuple(
                PhaseMix(_triple(mix["weights"]), mix["max_current_a"])
                for mix in limit.get("mixes", [])
            ),
        )
        for limit in item.get("limits", [])
    )
    return Node(
        node_id=item["node_id"],
        parent_id=item.get("parent_id"),
        limits=limits,
        non_ev_load_a=_triple(item.get("non_ev_load_a", [0.0, 0.0, 0.0])),
        nominal_voltage_v=item.get("nominal_voltage_v", 230.0),
    )


def _evse(item: Document) -> Evse:
    return Evse(
        evse_id=item["evse_id"],
        node_id=item["node_id"],
        phase_map=tuple(phase_index(p) for p in item.get("phase_map", PHASES)),
        min_current_a=item.get("min_current_a", 6.0),
        max_current_a=item.get("max_current_a", 32.0),
        current_step_a=item.get("current_step_a"),
        can_switch_phases=item.get("can_switch_phases", False),
    )


def _session(item: Document) -> Session:
    measured = item.get("measured_current_a")
    return Session(
        evse_id=item["evse_id"],
        arrival_s=item.get("arrival_s", 0.0),
        phases_in_use=item.get("phases_in_use"),
        ev_max_current_a=item.get("ev_max_current_a"),
        measured_current_a=tuple(measured) if measured is not None else None,
        priority=item.get("priority", 0),
        departure_s=item.get("departure_s"),
        energy_needed_wh=item.get("energy_needed_wh"),
    )


def _step(item: Document, previous_sessions: tuple[Session, ...]) -> Step:
    sessions = previous_sessions
    if "sessions" in item:
        sessions = tuple(_session(s) for s in item["sessions"])
    expected = {
        evse_id: Expected(e["limit_a"], e.get("bound_by"), e.get("phases"))
        for evse_id, e in item.get("expected", {}).items()
    }
    return Step(now_s=item.get("now_s", 0.0), sessions=sessions, expected=expected)


def allocation_to_dict(allocation: Allocation) -> Document:
    """The allocation as plain JSON-ready data (phases named L1..L3)."""
    return {
        "method": allocation.method,
        "evses": [
            {
                "evse_id": e.evse_id,
                "limit_a": e.limit_a,
                "phases": e.phases,
                "current_a": list(e.current_a),
                "grid_current_a": dict(zip(PHASES, e.grid_current_a, strict=True)),
                "bound_by": e.bound_by,
            }
            for e in allocation.evses
        ],
        "nodes": [
            {
                "node_id": n.node_id,
                "ev_load_a": dict(zip(PHASES, n.ev_load_a, strict=True)),
                "headroom_a": dict(zip(PHASES, n.headroom_a, strict=True)),
                "headroom_w": n.headroom_w,
            }
            for n in allocation.nodes
        ],
        "state": [
            {
                "evse_id": s.evse_id,
                "arrival_s": s.arrival_s,
                "limit_a": s.limit_a,
                "admitted_since_s": s.admitted_since_s,
                "waiting_since_s": s.waiting_since_s,
                "probe_started_s": s.probe_started_s,
            }
            for s in allocation.state.evses
        ],
    }


def run_scenario(scenario: Scenario) -> tuple[Allocation, ...]:
    """Allocate every step in order, each fed the state the previous one returned."""
    state = scenario.state
    allocations = []
    for step in scenario.steps:
        allocation = allocate(scenario.site, step.sessions, step.now_s, scenario.options, state)
        allocations.append(allocation)
        state = allocation.state
    return tuple(allocations)
