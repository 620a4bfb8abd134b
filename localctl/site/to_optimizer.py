"""From configuration and a SiteSnapshot to the optimizer's input: a pure function.

Node limits: the fuse (``fuse``), an EMS limit while valid (``ems-<source>``), and once an EMS
limit has expired the configured safe limit (``ems_safe``). Several apply at once; the
optimizer takes the lowest and names it.

Non-EV load: a meter on a node measures everything that flows through it. What flows through
a child node is known if the child is metered (its meter) and otherwise estimated as the EV
draw below it. The node's own non-EV load is what its meter sees minus what is known below
and the EVs hanging directly on it, never below zero. An unmetered node has no non-EV load
the controller knows of: its fuse is then for EVs alone.

Fail-safe modes per EVSE (DESIGN: stale input is worst case):
- HOLD: a meter above the EVSE is stale: no increases (the node is assumed at its limit);
- FLOORS: a meter above it is lost (or never read), or an EMS limit above it expired with no
  safe limit configured: the EVSE gets its fallback floor.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum

from localctl.config.control import ControlConfig
from localctl.config.site import GRID_PHASES, EvseConfig, NodeConfig, SiteConfig
from localctl.inputs.readings import PhaseValues
from localctl.site.state import InputStatus, MeterView, SiteSnapshot
from optimizer.model import Evse, Node, NodeLimit, Site

ZERO: PhaseValues = (0.0, 0.0, 0.0)


class NonEvHold:
    """Holds the highest non-EV load estimate per node and phase for `hold_s`.

    The estimate is the grid meter minus the EV draws the stations report, and the two are
    sampled at different moments while EVs take seconds to follow a new limit: right after a
    decrease the meter already shows the lower EV draw while the stations still report the old
    one, and the estimate dips. Acting on the dip raises limits into an overload and makes the
    loop oscillate; holding the peak over the EVs' reaction time does not."""

    def __init__(self, hold_s: float) -> None:
        self.hold_s = hold_s
        self._history: dict[str, list[tuple[float, PhaseValues]]] = {}

    def apply(self, node_id: str, estimate: PhaseValues, now_s: float) -> PhaseValues:
        history = [(t, v) for t, v in self._history.get(node_id, []) if now_s - t < self.hold_s]
        history.append((now_s, estimate))
        self._history[node_id] = history
        return (
            max(v[0] for _, v in history),
            max(v[1] for _, v in history),
            max(v[2] for _, v in history),
        )


class EvseMode(Enum):
    NORMAL = "normal"
    HOLD = "hold"
    FLOORS = "floors"


_SEVERITY = {EvseMode.NORMAL: 0, EvseMode.HOLD: 1, EvseMode.FLOORS: 2}


@dataclass(frozen=True, slots=True)
class ControlInput:
    site: Site
    evse_modes: Mapping[str, EvseMode]
    mode_reasons: Mapping[str, str]
    """why an EVSE is not in NORMAL mode, e.g. ``meter grid stale (14 s)``"""


def build_control_input(
    config: SiteConfig,
    control: ControlConfig,
    snapshot: SiteSnapshot,
    ev_draw_a: Mapping[str, PhaseValues],
    *,
    reserved_a: Mapping[str, PhaseValues] | None = None,
    group_limits_a: Mapping[str, float] | None = None,
    non_ev_hold: NonEvHold | None = None,
    operator_limits: Mapping[str, NodeLimit] | None = None,
) -> ControlInput:
    """`ev_draw_a`: measured current of each EVSE per grid phase (already through its wiring);
    `reserved_a`: load per node the optimizer must count on top (EVSEs that do not obey);
    `group_limits_a`: per node, a limit per phase the CSMS set on the controller's identity;
    `operator_limits`: per node, a temporary limit an operator set through the API."""
    meters = {m.node_id: m for m in snapshot.meters if m.reading is not None}
    meters = {n: m for n, m in meters.items() if m.status is not InputStatus.LOST}
    non_ev = _non_ev_loads(config, meters, ev_draw_a)
    if non_ev_hold is not None:
        now_s = snapshot.monotonic_s
        non_ev = {node: non_ev_hold.apply(node, load, now_s) for node, load in non_ev.items()}
    node_modes: dict[str, tuple[EvseMode, str]] = {}
    for view in snapshot.meters:
        _escalate(node_modes, view.node_id, *_meter_mode(view))
    limits = {node.id: list(_static_limits(node)) for node in config.nodes}
    for node_id, limit_a in (group_limits_a or {}).items():
        limits[node_id].append(NodeLimit("csms", max_current_a=(limit_a, limit_a, limit_a)))
    for node_id, operator_limit in (operator_limits or {}).items():
        limits[node_id].append(operator_limit)
    for ems in snapshot.ems_limits:
        if not ems.expired:
            limits[ems.node_id].append(
                _ems_limit(ems.limit.source, ems.limit.power_w, ems.limit.current_a)
            )
        elif control.ems_safe_power_w is not None:
            limits[ems.node_id].append(NodeLimit("ems_safe", max_power_w=control.ems_safe_power_w))
        else:
            reason = f"EMS limit from {ems.limit.source} expired"
            _escalate(node_modes, ems.node_id, EvseMode.FLOORS, reason)
    reserved_a = reserved_a or {}
    nodes = tuple(
        Node(
            n.id,
            n.parent,
            tuple(limits[n.id]),
            _add(non_ev.get(n.id, ZERO), reserved_a.get(n.id, ZERO)),
            config.voltage_v(n),
        )
        for n in config.nodes
    )
    evses = tuple(_evse(e) for e in config.evses)
    modes, reasons = _evse_modes(config, node_modes)
    return ControlInput(Site(nodes, evses), modes, reasons)


def static_site(config: SiteConfig) -> Site:
    """The site as the fallback floors must see it: fuses and power limits only (no EMS, no
    live measurement), and each node's `floor_reserve_a` as its non-EV load."""
    nodes = tuple(
        Node(n.id, n.parent, _static_limits(n), n.floor_reserve_a, config.voltage_v(n))
        for n in config.nodes
    )
    return Site(nodes, tuple(_evse(e) for e in config.evses))


def grid_draw_a(evse: EvseConfig, conductor_current_a: tuple[float, ...]) -> PhaseValues:
    """Per grid phase, what an EVSE draws given the current on each of its conductors."""
    draw = [0.0, 0.0, 0.0]
    for grid_phase, current_a in zip(evse.grid_phases, conductor_current_a, strict=False):
        draw[GRID_PHASES.index(grid_phase)] += current_a
    return (draw[0], draw[1], draw[2])


def _static_limits(node: NodeConfig) -> tuple[NodeLimit, ...]:
    return (NodeLimit("fuse", max_current_a=node.fuse_a, max_power_w=node.power_limit_w),)


def _ems_limit(source: str, power_w: float | None, current_a: PhaseValues | None) -> NodeLimit:
    label = "ems-" + "".join(c if c.isalnum() or c in "-_" else "_" for c in source)
    return NodeLimit(label, max_current_a=current_a, max_power_w=power_w)


def _evse(evse: EvseConfig) -> Evse:
    return Evse(
        evse.id,
        evse.node,
        tuple(GRID_PHASES.index(p) for p in evse.grid_phases),
        evse.min_current_a,
        evse.max_current_a,
        evse.current_step_a,
        evse.can_switch_phases,
    )


def _meter_mode(view: MeterView) -> tuple[EvseMode, str]:
    if view.status is InputStatus.FRESH:
        return EvseMode.NORMAL, ""
    if view.reading is None:
        return EvseMode.FLOORS, f"meter {view.meter_id} not read yet"
    mode = EvseMode.HOLD if view.status is InputStatus.STALE else EvseMode.FLOORS
    return mode, f"meter {view.meter_id} {view.status.value} ({view.age_s:.0f} s)"


def _escalate(
    modes: dict[str, tuple[EvseMode, str]], node_id: str, mode: EvseMode, reason: str
) -> None:
    current = modes.get(node_id, (EvseMode.NORMAL, ""))
    if _SEVERITY[mode] > _SEVERITY[current[0]]:
        modes[node_id] = (mode, reason)


def _evse_modes(
    config: SiteConfig, node_modes: Mapping[str, tuple[EvseMode, str]]
) -> tuple[dict[str, EvseMode], dict[str, str]]:
    modes: dict[str, EvseMode] = {}
    reasons: dict[str, str] = {}
    for evse in config.evses:
        worst = (EvseMode.NORMAL, "")
        for node_id in config.ancestors(evse.node):
            candidate = node_modes.get(node_id, worst)
            if _SEVERITY[candidate[0]] > _SEVERITY[worst[0]]:
                worst = candidate
        modes[evse.id] = worst[0]
        if worst[1]:
            reasons[evse.id] = worst[1]
    return modes, reasons


def _non_ev_loads(
    config: SiteConfig, meters: Mapping[str, MeterView], ev_draw_a: Mapping[str, PhaseValues]
) -> dict[str, PhaseValues]:
    direct_ev: dict[str, PhaseValues] = {}
    for evse in config.evses:
        direct_ev[evse.node] = _add(direct_ev.get(evse.node, ZERO), ev_draw_a.get(evse.id, ZERO))
    result: dict[str, PhaseValues] = {}

    def known_flow(node_id: str) -> PhaseValues:
        below = ZERO
        for child in config.children(node_id):
            below = _add(below, known_flow(child.id))
        own_ev = direct_ev.get(node_id, ZERO)
        view = meters.get(node_id)
        if view is None or view.reading is None:
            return _add(below, own_ev)
        measured = view.reading.current_a
        result[node_id] = _clamp(_sub(_sub(measured, below), own_ev))
        return measured

    root = config.children(None)[0]
    known_flow(root.id)
    return result


def _add(a: PhaseValues, b: PhaseValues) -> PhaseValues:
    return (a[0] + b[0], a[1] + b[1], a[2] + b[2])


def _sub(a: PhaseValues, b: PhaseValues) -> PhaseValues:
    return (a[0] - b[0], a[1] - b[1], a[2] - b[2])


def _clamp(a: PhaseValues) -> PhaseValues:
    return (max(0.0, a[0]), max(0.0, a[1]), max(0.0, a[2]))
