"""The controller's state as API responses: read-only functions of what the service holds.

Everything comes from the last control cycle's report (`ControlLoop.last`), the station
registry, the input snapshot and the relay's links; nothing here changes state.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from localctl.api import schemas as s
from localctl.config.site import SiteConfig
from localctl.control.overrides import PAUSED
from localctl.control.registry import EvseRuntime, StationRuntime
from localctl.relay.events import Side
from localctl.site.state import SiteSnapshot
from optimizer.errors import InvalidInputError
from optimizer.model import Node
from optimizer.result import NodeHeadroom

if TYPE_CHECKING:
    from localctl.service import Controller

ZERO = [0.0, 0.0, 0.0]


class NotFoundError(LookupError):
    """No such node, EVSE or station in this controller."""


def _round(values: tuple[float, ...] | list[float]) -> list[float]:
    return [round(v, 2) for v in values]


class Views:
    def __init__(self, controller: Controller, wall: Callable[[], float]) -> None:
        self._c = controller
        self._wall = wall

    @property
    def site_config(self) -> SiteConfig:
        if self._c.config.site is None:
            raise NotFoundError("this controller has no site (relay only)")
        return self._c.config.site

    # -- the site tree ---------------------------------------------------------------------

    def site(self) -> s.SiteOut:
        snapshot = self._c.site_state.snapshot()
        report = self._c.loop.last if self._c.loop else None
        return s.SiteOut(
            name=self.site_config.name,
            nodes=[self.node(n, snapshot) for n in self._depth_first(None)],
            last_cycle_age_s=None if report is None else snapshot.monotonic_s - report.monotonic_s,
            stations_connected=len(self._c.relay.station_ids),
        )

    def root_id(self) -> str:
        return self.site_config.children(None)[0].id

    def node_current_limits(self) -> dict[str, list[float]]:
        """Per node, the lowest current limit per phase in force in the last cycle."""
        report = self._c.loop.last if self._c.loop else None
        limits: dict[str, list[float]] = {}
        for node in report.control_input.site.nodes if report else ():
            currents = [lim.max_current_a for lim in node.limits if lim.max_current_a]
            if currents:
                limits[node.node_id] = [min(c[p] for c in currents) for p in range(3)]
        return limits

    def _depth_first(self, parent: str | None) -> list[str]:
        ids: list[str] = []
        for child in self.site_config.children(parent):
            ids += [child.id, *self._depth_first(child.id)]
        return ids

    def node(self, node_id: str, snapshot: SiteSnapshot | None = None) -> s.NodeOut:
        site = self.site_config
        config = next((n for n in site.nodes if n.id == node_id), None)
        if config is None:
            raise NotFoundError(f"no node {node_id!r}")
        snapshot = snapshot or self._c.site_state.snapshot()
        meter = next((m for m in snapshot.meters if m.node_id == node_id), None)
        model, headroom = self._optimizer_node(node_id)
        limits = [
            s.NodeLimitOut(
                source=limit.source,
                current_a=None if limit.max_current_a is None else list(limit.max_current_a),
                power_w=limit.max_power_w,
            )
            for limit in (model.limits if model else ())
        ]
        return s.NodeOut(
            id=node_id,
            kind=config.kind,
            parent=config.parent,
            children=[c.id for c in site.children(node_id)],
            limits=limits,
            measured_current_a=_round(meter.reading.current_a) if meter and meter.reading else None,
            meter_age_s=None if meter is None or meter.age_s is None else round(meter.age_s, 2),
            ev_draw_a=self._ev_draw_below(node_id),
            non_ev_load_a=_round(model.non_ev_load_a) if model else ZERO,
            ev_load_a=_round(headroom.ev_load_a) if headroom else ZERO,
            headroom_a=[None if h is None else round(h, 2) for h in headroom.headroom_a]
            if headroom
            else [None, None, None],
            headroom_w=headroom.headroom_w if headroom else None,
        )

    def _ev_draw_below(self, node_id: str) -> list[float]:
        draws = self._c.registry.ev_draw_a() if self._c.registry else {}
        total = [0.0, 0.0, 0.0]
        for evse in self.site_config.evses:
            if evse.id in draws and node_id in self.site_config.ancestors(evse.node):
                total = [t + d for t, d in zip(total, draws[evse.id], strict=True)]
        return _round(total)

    def _optimizer_node(self, node_id: str) -> tuple[Node | None, NodeHeadroom | None]:
        report = self._c.loop.last if self._c.loop else None
        if report is None:
            return None, None
        model = next((n for n in report.control_input.site.nodes if n.node_id == node_id), None)
        try:
            return model, report.allocation.node(node_id)
        except InvalidInputError:
            return model, None

    # -- EVSEs ---------------------------------------------------------------------------------

    def evses(self) -> list[s.EvseOut]:
        return [self.evse(e.id) for e in self.site_config.evses]

    def _runtime(
        self, evse_id: str
    ) -> tuple[StationRuntime | None, int | None, EvseRuntime | None]:
        registry = self._c.registry
        for station in registry.stations.values() if registry else ():
            for ocpp_id, runtime in station.evses.items():
                if runtime.config.id == evse_id:
                    return station, ocpp_id, runtime
        return None, None, None

    def evse(self, evse_id: str) -> s.EvseOut:
        config = next((e for e in self.site_config.evses if e.id == evse_id), None)
        if config is None:
            raise NotFoundError(f"no EVSE {evse_id!r}")
        station, ocpp_id, runtime = self._runtime(evse_id)
        loop = self._c.loop
        report = loop.last if loop else None
        wanted = report.wanted.evses.get(evse_id) if report else None
        modes = report.control_input.evse_modes if report else {}
        flagged = loop.compliance.flagged.get(evse_id) if loop else None
        draws = self._c.registry.ev_draw_a() if self._c.registry else {}
        return s.EvseOut(
            id=evse_id,
            node=config.node,
            station_id=station.config.id if station else None,
            ocpp_evse_id=ocpp_id,
            phases=config.phases,
            status=runtime.status.value if runtime and runtime.status else None,
            transaction_id=runtime.transaction_id if runtime else None,
            limit_a=wanted.limit_a if wanted else None,
            bound_by=report.wanted.why.get(evse_id) if report else None,
            mode=modes[evse_id].value if evse_id in modes else "normal",
            mode_reason=report.control_input.mode_reasons.get(evse_id) if report else None,
            draw_a=_round(draws.get(evse_id, (0.0, 0.0, 0.0))),
            non_compliant=flagged.reason if flagged else None,
            paused=bool(loop and evse_id in loop.overrides.paused),
        )

    def explain(self, evse_id: str) -> s.ExplainOut:
        evse = self.evse(evse_id)
        report = self._c.loop.last if self._c.loop else None
        allocation = None
        if report is not None:
            try:
                found = report.allocation.evse(evse_id)
                allocation = s.AllocationOut(
                    limit_a=found.limit_a,
                    current_a=_round(found.current_a),
                    grid_current_a=_round(found.grid_current_a),
                    phases=found.phases,
                    bound_by=found.bound_by,
                )
            except InvalidInputError:
                allocation = None
        binding = _binding_node_id(evse.bound_by)
        session = next((x for x in self.sessions() if x.evse_id == evse_id), None)
        floors = self._c.loop.floors_a if self._c.loop else {}
        return s.ExplainOut(
            evse=evse,
            explanation=explain_text(evse, binding),
            allocation=allocation,
            session=session,
            floor_a=floors.get(evse_id),
            csms_limit_a=evse.limit_a if evse.bound_by == "csms_profile" else None,
            binding_node=self.node(binding) if binding else None,
        )

    # -- sessions, stations, inputs --------------------------------------------------------

    def sessions(self) -> list[s.SessionOut]:
        registry, loop = self._c.registry, self._c.loop
        if registry is None or loop is None:
            return []
        now_s = self._c.clocks.monotonic()
        adjusted = {x.evse_id: x for x in loop.overrides.adjust(registry.sessions())}
        out = []
        for session in registry.sessions():
            station, _, runtime = self._runtime(session.evse_id)
            applied = adjusted.get(session.evse_id, session)
            override = loop.overrides.sessions.get(session.evse_id)
            wanted = loop.last.wanted.evses.get(session.evse_id) if loop.last else None
            out.append(
                s.SessionOut(
                    evse_id=session.evse_id,
                    station_id=station.config.id if station else None,
                    transaction_id=runtime.transaction_id if runtime else None,
                    connected_for_s=round(now_s - session.arrival_s, 1),
                    priority=applied.priority,
                    departure_time=self.wall_time(applied.departure_s),
                    energy_needed_wh=applied.energy_needed_wh,
                    ev_max_current_a=applied.ev_max_current_a,
                    limit_a=wanted.limit_a if wanted else None,
                    overridden=_overridden(override)
                    + (["paused"] if session.evse_id in loop.overrides.paused else []),
                )
            )
        return out

    def wall_time(self, monotonic_s: float | None) -> datetime | None:
        if monotonic_s is None:
            return None
        now_wall, now_mono = self._wall(), self._c.clocks.monotonic()
        return datetime.fromtimestamp(now_wall + monotonic_s - now_mono, UTC)

    def stations(self) -> list[s.StationOut]:
        registry = self._c.registry
        configured = registry.stations if registry else {}
        ids = sorted(set(configured) | set(self._c.relay.station_ids))
        return [self.station(i) for i in ids]

    def station(self, station_id: str) -> s.StationOut:
        registry = self._c.registry
        runtime = registry.stations.get(station_id) if registry else None
        link = self._c.relay.link(station_id)
        if runtime is None and link is None:
            raise NotFoundError(f"no station {station_id!r}")
        version = link.session.version.value if link else None
        return s.StationOut(
            id=station_id,
            connected=link is not None,
            configured=runtime is not None,
            ocpp_version=version,
            evses=[
                s.StationEvseOut(
                    ocpp_evse_id=ocpp_id,
                    evse_id=evse.config.id,
                    status=evse.status.value if evse.status else None,
                    transaction_id=evse.transaction_id,
                )
                for ocpp_id, evse in (runtime.evses.items() if runtime else ())
            ],
            queued_to_station=link.session.queue_depth(Side.STATION) if link else None,
            queued_to_csms=link.session.queue_depth(Side.CSMS) if link else None,
        )

    def inputs(self) -> s.InputsOut:
        snapshot = self._c.site_state.snapshot()
        return s.InputsOut(
            meters=[
                s.MeterOut(
                    id=m.meter_id,
                    node=m.node_id,
                    status=m.status.value,
                    age_s=None if m.age_s is None else round(m.age_s, 2),
                    current_a=_round(m.reading.current_a) if m.reading else None,
                    last_fault=m.last_fault.description if m.last_fault else None,
                )
                for m in snapshot.meters
            ],
            ems_limits=[
                s.EmsLimitOut(
                    node=e.node_id,
                    source=e.limit.source,
                    power_w=e.limit.power_w,
                    current_a=None if e.limit.current_a is None else list(e.limit.current_a),
                    expired=e.expired,
                    valid_for_s=round(e.limit.valid_until_monotonic_s - snapshot.monotonic_s, 1),
                )
                for e in snapshot.ems_limits
            ],
        )


def _overridden(override: object) -> list[str]:
    if override is None:
        return []
    return [
        f
        for f in ("priority", "departure_s", "energy_needed_wh")
        if getattr(override, f) is not None
    ]


def _binding_node_id(bound_by: str | None) -> str | None:
    """`node:main:L1:fuse` -> `main`."""
    if bound_by is None or not bound_by.startswith("node:"):
        return None
    return bound_by.split(":")[1]


_REASONS = {
    "evse_max": "it gets the most its EVSE allows",
    "ev_max": "it gets the most the vehicle takes (or the CSMS allows the session)",
    "energy_needed": "it needs no more to finish by its departure",
    "unused_capacity": "the vehicle draws less than offered; the rest went to others",
    "ramp": "increases are limited per cycle (control.max_increase_a_per_cycle)",
    "min_current_admission": "there is not enough for its minimum current now; it waits its turn",
    "priority": "higher-priority sessions took the capacity",
    "no_session": "no vehicle is charging there",
    "no_allocation": "the optimizer gave it nothing",
    "fallback_floor": "an input is lost: it sits on its fallback floor",
    "stale_input_hold": "an input is stale: no increases until it is fresh",
    "csms_profile": "the CSMS's own charging profile allows no more",
    PAUSED: "an operator paused it",
}


def explain_text(evse: s.EvseOut, binding_node: str | None) -> str:
    limit = "no limit yet" if evse.limit_a is None else f"{evse.limit_a:.1f} A"
    reason = evse.bound_by or "no control cycle has run yet"
    if binding_node is not None:
        _, node, phase, source = [*reason.split(":"), "", "", ""][:4]
        what = {
            "fuse": "the fuse",
            "operator": "an operator's temporary limit",
            "csms": "the CSMS's group limit",
        }.get(source, f"the {source} limit")
        because = f"{what} on node {node} ({phase}) is reached"
    else:
        because = _REASONS.get(reason, reason)
    text = f"EVSE {evse.id}: {limit} because {because}"
    if evse.mode != "normal":
        text += f"; mode {evse.mode}: {evse.mode_reason}"
    if evse.non_compliant:
        text += f"; flagged non-compliant: {evse.non_compliant}"
    return text
