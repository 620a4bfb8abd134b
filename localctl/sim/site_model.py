"""The electrical side of the simulated site, with no I/O: EVs on EVSEs, currents per node.

Rules of this file:
- An EVSE's conductors carry what its EV draws; conductor i sits on grid phase `wiring[i]`.
  A car with more phases than the EVSE's conductors charges on the conductors there are.
- A node carries the EVSEs below it (in its subtree) plus the base load of every metered
  node in its subtree.
- `step()` is given the offer per EVSE and the length of the step; it never reads a clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from localctl.config.site import GRID_PHASES, EvseConfig, SiteConfig
from localctl.sim.base_load import BaseLoad, PhaseCurrents
from localctl.sim.errors import SimError
from localctl.sim.ev import NOMINAL_VOLTAGE_V, Ev


@dataclass(slots=True)
class EvseState:
    """One EVSE of the site, with the car on it (if any) and its energy register."""

    config: EvseConfig
    ev: Ev | None = None
    drawn_a: tuple[float, ...] = ()
    """Current per EVSE conductor over the last step."""
    energy_wh: float = 0.0
    """The EVSE's energy register: everything delivered since the simulation began."""
    node_chain: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        self.drawn_a = (0.0,) * self.config.phases

    def grid_currents_a(self) -> PhaseCurrents:
        per_phase = dict.fromkeys(GRID_PHASES, 0.0)
        for phase, amps in zip(self.config.grid_phases, self.drawn_a, strict=True):
            per_phase[phase] += amps
        return (per_phase["L1"], per_phase["L2"], per_phase["L3"])


def _add(total: PhaseCurrents, more: PhaseCurrents) -> PhaseCurrents:
    return (total[0] + more[0], total[1] + more[1], total[2] + more[2])


class SiteModel:
    """EVSEs, their EVs and the base loads of a site configuration."""

    def __init__(self, site: SiteConfig, base_loads: Mapping[str, BaseLoad]) -> None:
        unknown = set(base_loads) - {node.id for node in site.nodes}
        if unknown:
            raise SimError(f"base load on unknown nodes: {sorted(unknown)}")
        self.site = site
        self.base_loads = dict(base_loads)
        self.evses = {
            evse.id: EvseState(evse, node_chain=tuple(site.ancestors(evse.node)))
            for evse in site.evses
        }
        self.root_id = next(node.id for node in site.nodes if node.parent is None)

    def plug(self, evse_id: str, ev: Ev) -> None:
        state = self.evses[evse_id]
        if state.ev is not None:
            raise SimError(f"evse {evse_id} already has an EV")
        state.ev = Ev(
            ev.spec.on_phases(state.config.phases), soc=ev.soc, reaction_delay_s=ev.reaction_delay_s
        )

    def unplug(self, evse_id: str) -> Ev | None:
        state = self.evses[evse_id]
        ev, state.ev = state.ev, None
        state.drawn_a = (0.0,) * state.config.phases
        return ev

    def step(self, offers_a: Mapping[str, float], dt_s: float) -> None:
        """Advance every EV by `dt_s`; an EVSE missing from `offers_a` offers 0 A."""
        for evse_id, state in self.evses.items():
            if state.ev is None:
                continue
            drawn = state.ev.step(offers_a.get(evse_id, 0.0), dt_s)
            state.drawn_a = drawn + (0.0,) * (state.config.phases - len(drawn))
            state.energy_wh += sum(drawn) * NOMINAL_VOLTAGE_V * dt_s / 3600.0

    def node_currents_a(self, time_s: float) -> dict[str, PhaseCurrents]:
        """Current per grid phase through every node at simulated time `time_s`."""
        totals: dict[str, PhaseCurrents] = {node.id: (0.0, 0.0, 0.0) for node in self.site.nodes}
        for state in self.evses.values():
            for node_id in state.node_chain:
                totals[node_id] = _add(totals[node_id], state.grid_currents_a())
        for node_id, load in self.base_loads.items():
            for upstream_id in self.site.ancestors(node_id):
                totals[upstream_id] = _add(totals[upstream_id], load(time_s))
        return totals
