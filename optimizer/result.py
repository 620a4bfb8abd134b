"""Output model: what each EVSE may draw, why, and what headroom each node keeps."""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass

from optimizer.errors import InvalidInputError
from optimizer.model import AllocatorState, PhaseTriple

# Reasons an EVSE's limit stopped where it did, besides "node:<id>:<L1|L2|L3|power>:<source>".
EVSE_MAX = "evse_max"
EV_MAX = "ev_max"
ENERGY_NEEDED = "energy_needed"
UNUSED_CAPACITY = "unused_capacity"
RAMP = "ramp"
MIN_CURRENT_ADMISSION = "min_current_admission"
PRIORITY = "priority"
NO_SESSION = "no_session"


@dataclass(frozen=True, slots=True)
class EvseAllocation:
    """The limit for one EVSE.

    ``current_a`` is per EVSE conductor (L1..L3 of the EVSE, as in its ``phase_map``);
    ``grid_current_a`` is what it may load on grid L1..L3 in the worst case of its phases in
    use. ``phases`` is the phase count to command (after any 1/3-phase switching).
    """

    evse_id: str
    limit_a: float
    current_a: tuple[float, ...]
    grid_current_a: PhaseTriple
    phases: int
    bound_by: str


@dataclass(frozen=True, slots=True)
class NodeHeadroom:
    """EV load below a node (worst case per grid phase) and what its limits have left.

    ``headroom_a`` is None on a phase the node does not limit; ``headroom_w`` is None when
    it has no power limit. Headroom is after the non-EV load.
    """

    node_id: str
    ev_load_a: PhaseTriple
    headroom_a: tuple[float | None, float | None, float | None]
    headroom_w: float | None


@dataclass(frozen=True, slots=True)
class Allocation:
    """One cycle's answer. EVSEs and nodes are sorted by id; ``state`` feeds the next cycle."""

    evses: tuple[EvseAllocation, ...]
    nodes: tuple[NodeHeadroom, ...]
    state: AllocatorState
    method: str

    def evse(self, evse_id: str) -> EvseAllocation:
        """The allocation of one EVSE (binary search: the tuple is sorted by id)."""
        index = bisect_left(self.evses, evse_id, key=lambda entry: entry.evse_id)
        if index < len(self.evses) and self.evses[index].evse_id == evse_id:
            return self.evses[index]
        raise InvalidInputError(f"no EVSE {evse_id!r} in this allocation")

    def node(self, node_id: str) -> NodeHeadroom:
        index = bisect_left(self.nodes, node_id, key=lambda entry: entry.node_id)
        if index < len(self.nodes) and self.nodes[index].node_id == node_id:
            return self.nodes[index]
        raise InvalidInputError(f"no node {node_id!r} in this allocation")

    @property
    def total_current_a(self) -> float:
        """Sum of the per-phase limits over every conductor in use: the delivered current."""
        return sum(sum(entry.grid_current_a) for entry in self.evses)
