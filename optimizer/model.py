"""Input model of the optimizer: the site tree, its EVSEs, the sessions and the options.

Every value is in SI units named in the field (A, W, V, Wh, s). Grid phases are numbered
0, 1, 2 for L1, L2, L3. An EVSE's ``phase_map`` gives, for each of its own conductors
(L1, L2, L3 of the EVSE), the grid phase it is wired to: ``(1, 2, 0)`` is a rotated
three-phase EVSE whose conductor L1 sits on grid L2.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from optimizer.errors import InvalidInputError

if TYPE_CHECKING:
    from optimizer.topology import Topology

PhaseTriple = tuple[float, float, float]
NO_LOAD: PhaseTriple = (0.0, 0.0, 0.0)


@dataclass(frozen=True, slots=True)
class PhaseMix:
    """A limit on a weighted sum of a node's grid-phase currents:
    ``sum(weights_k * I_k) <= max_current_a``, weights non-negative.

    For networks whose limits are not per phase: line-to-line EVSEs on a delta secondary
    load two lines at once, and each line current is the magnitude of a sum of phasors.
    A set of mixes can state any polyhedral inner approximation of such limits exactly.
    """

    weights: PhaseTriple
    max_current_a: float

    def __post_init__(self) -> None:
        if min(self.weights) < 0 or max(self.weights) <= 0 or self.max_current_a < 0:
            raise InvalidInputError("a phase mix needs non-negative weights, one positive")


@dataclass(frozen=True, slots=True)
class NodeLimit:
    """One source of a node limit (a fuse, an EMS, a CSMS group limit, ...).

    A source may limit the current per grid phase, the total power, or both. When several
    sources limit one node, the lowest wins and its ``source`` names the binding constraint.
    """

    source: str
    max_current_a: PhaseTriple | None = None
    max_power_w: float | None = None
    mixes: tuple[PhaseMix, ...] = ()

    def __post_init__(self) -> None:
        if not self.source or ":" in self.source:
            raise InvalidInputError(f"limit source {self.source!r} must be a non-empty word")
        if self.max_current_a is not None and min(self.max_current_a) < 0:
            raise InvalidInputError(f"limit {self.source}: negative current")
        if self.max_power_w is not None and self.max_power_w < 0:
            raise InvalidInputError(f"limit {self.source}: negative power")


@dataclass(frozen=True, slots=True)
class Node:
    """A point of the distribution tree: grid connection, transformer, sub-board, circuit.

    ``non_ev_load_a`` is the measured load attached directly at this node (not below its
    child nodes); it flows through every ancestor too, so it is subtracted there as well.
    """

    node_id: str
    parent_id: str | None = None
    limits: tuple[NodeLimit, ...] = ()
    non_ev_load_a: PhaseTriple = NO_LOAD
    nominal_voltage_v: float = 230.0

    def __post_init__(self) -> None:
        if not self.node_id or ":" in self.node_id:
            raise InvalidInputError(f"node id {self.node_id!r} must be non-empty, without ':'")
        if self.nominal_voltage_v <= 0:
            raise InvalidInputError(f"node {self.node_id}: voltage must be positive")


@dataclass(frozen=True, slots=True)
class Evse:
    """A charging point: where it hangs in the tree, how it is wired, what it can do."""

    evse_id: str
    node_id: str
    phase_map: tuple[int, ...] = (0, 1, 2)
    min_current_a: float = 6.0
    max_current_a: float = 32.0
    current_step_a: float | None = None
    can_switch_phases: bool = False

    def __post_init__(self) -> None:
        if not self.evse_id:
            raise InvalidInputError("evse id must be non-empty")
        if len(self.phase_map) not in (1, 3) or len(set(self.phase_map)) != len(self.phase_map):
            raise InvalidInputError(f"evse {self.evse_id}: phase_map must be 1 or 3 phases")
        if any(p not in (0, 1, 2) for p in self.phase_map):
            raise InvalidInputError(f"evse {self.evse_id}: phases are 0, 1, 2 (L1..L3)")
        if not 0 <= self.min_current_a <= self.max_current_a:
            raise InvalidInputError(f"evse {self.evse_id}: need 0 <= min <= max current")
        if self.current_step_a is not None and self.current_step_a < 0.001:
            raise InvalidInputError(f"evse {self.evse_id}: current step below 1 mA")

    @property
    def phase_count(self) -> int:
        return len(self.phase_map)


@dataclass(frozen=True, slots=True)
class Site:
    """The whole tree. Ids are unique; every EVSE hangs under an existing node."""

    nodes: tuple[Node, ...]
    evses: tuple[Evse, ...]


@dataclass(frozen=True, slots=True)
class Session:
    """A vehicle plugged into an EVSE.

    ``phases_in_use`` is None when unknown: the session may then load any wired phase with
    its full current. ``measured_current_a`` is per EVSE conductor. ``priority`` is a class:
    higher is served first. ``arrival_s``, ``departure_s`` and ``now_s`` share one clock.
    """

    evse_id: str
    arrival_s: float
    phases_in_use: int | None = None
    ev_max_current_a: float | None = None
    measured_current_a: tuple[float, ...] | None = None
    priority: int = 0
    departure_s: float | None = None
    energy_needed_wh: float | None = None

    def __post_init__(self) -> None:
        if self.phases_in_use not in (None, 1, 2, 3):
            raise InvalidInputError(f"session at {self.evse_id}: phases_in_use is 1, 2, 3")
        if self.ev_max_current_a is not None and self.ev_max_current_a < 0:
            raise InvalidInputError(f"session at {self.evse_id}: negative EV max current")
        if self.energy_needed_wh is not None and self.energy_needed_wh < 0:
            raise InvalidInputError(f"session at {self.evse_id}: negative energy needed")


@dataclass(frozen=True, slots=True)
class Options:
    """Tuning of one allocation cycle. Defaults suit a 1 s control loop.

    ``fairness="equal"`` shares each bottleneck max-min fairly in amps. ``"deadline"`` shares
    it max-min fairly in the fraction of the current each session needs to finish by its
    departure (sessions without departure and energy count as needing their full cap):
    it trades equal amps for more energy delivered by departure.
    """

    method: Literal["fast", "exact"] = "fast"
    fairness: Literal["equal", "deadline", "horizon"] = "equal"
    default_step_a: float = 0.1
    max_increase_a_per_cycle: float | None = None
    period_s: float = 1.0
    rotation_interval_s: float = 600.0
    unused_margin_a: float = 2.0
    probe_interval_s: float = 300.0
    probe_hold_s: float = 30.0
    horizon_s: float = 86_400.0

    def __post_init__(self) -> None:
        if self.method not in ("fast", "exact"):
            raise InvalidInputError(f"unknown method {self.method!r}")
        if self.fairness not in ("equal", "deadline", "horizon"):
            raise InvalidInputError(f"unknown fairness {self.fairness!r}")
        if self.period_s <= 0 or self.default_step_a < 0.001 or self.horizon_s <= 0:
            raise InvalidInputError("period and step must be positive")


@dataclass(frozen=True, slots=True)
class EvseState:
    """What one cycle remembers about an EVSE's session for the next one.

    ``arrival_s`` identifies the session: a different arrival means a new session.
    """

    evse_id: str
    arrival_s: float
    limit_a: float
    admitted_since_s: float | None
    waiting_since_s: float | None
    probe_started_s: float


@dataclass(frozen=True, slots=True)
class AllocatorState:
    """State passed from one cycle to the next (the optimizer keeps none of its own).

    ``topology`` is the site's compiled shape, carried so that the next cycle on the same
    shape skips compiling it. It is a memo only: it never changes an answer, so it takes
    no part in comparing states.
    """

    evses: tuple[EvseState, ...] = field(default_factory=tuple)
    topology: Topology | None = field(default=None, compare=False, repr=False)

    def get(self, evse_id: str) -> EvseState | None:
        """The state of one EVSE's session, if any (``allocate`` keeps them sorted by id)."""
        for entry in self.evses:
            if entry.evse_id == evse_id:
                return entry
        return None
