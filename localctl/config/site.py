"""The site: its distribution tree (per-phase fuses, power limits), EVSEs and stations.

Rules checked when a file is loaded, so that a bad tree never reaches the controller:
- node and EVSE ids are unique and contain no ``:`` (it separates parts of a ``bound_by``);
- exactly one node has no parent (the grid connection); every parent exists; no cycles;
- every EVSE hangs under an existing node and its wiring names one grid phase per conductor;
- every station's EVSEs exist, and no EVSE belongs to two stations.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from localctl.config.base import StrictModel
from localctl.control.strategy import STRATEGIES

GridPhase = Literal["L1", "L2", "L3"]
GRID_PHASES: tuple[GridPhase, ...] = ("L1", "L2", "L3")


def _per_phase(value: object) -> object:
    """A single number applies to all three phases."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (value, value, value)
    return value


PerPhaseA = Annotated[
    tuple[
        Annotated[float, Field(ge=0)], Annotated[float, Field(ge=0)], Annotated[float, Field(ge=0)]
    ],
    BeforeValidator(_per_phase),
]
Identifier = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[^:\s]+$")]


class NodeConfig(StrictModel):
    """A point of the distribution tree with its own protection."""

    id: Identifier = Field(description="unique node id, e.g. main, sub-a")
    kind: Literal["grid_connection", "transformer", "sub_distribution", "circuit"] = Field(
        description="what the node is (informational; every kind is limited the same way)"
    )
    parent: Identifier | None = Field(None, description="parent node id; none for the root")
    fuse_a: PerPhaseA | None = Field(
        None, description="fuse or breaker rating per phase (A); one number for all three"
    )
    power_limit_w: float | None = Field(
        None, gt=0, description="limit on the total active power through the node (W)"
    )
    nominal_voltage_v: float | None = Field(
        None, gt=0, description="phase-to-neutral voltage (V); default: the site's"
    )
    floor_reserve_a: PerPhaseA = Field(
        (0.0, 0.0, 0.0),
        description="non-EV load directly at this node that the fallback floors must leave room "
        "for when the controller is gone (A per phase)",
    )

    @model_validator(mode="after")
    def _has_a_limit(self) -> NodeConfig:
        if self.fuse_a is None and self.power_limit_w is None:
            raise ValueError(f"node {self.id}: needs fuse_a or power_limit_w")
        return self


class EvseConfig(StrictModel):
    """A charging point and how it is wired."""

    id: Identifier = Field(description="unique EVSE id")
    node: Identifier = Field(description="the node this EVSE is connected under")
    phases: Literal[1, 3] = Field(3, description="number of phases the EVSE is wired with")
    wiring: tuple[GridPhase, ...] | None = Field(
        None,
        description="grid phase of each EVSE conductor L1[, L2, L3] (phase rotation), e.g. "
        "[L2, L3, L1]; default L1, L2, L3 (single-phase: L1)",
    )
    min_current_a: float = Field(
        6.0, ge=0, description="lowest current the EVSE can offer (A); IEC 61851-1: 6 A"
    )
    max_current_a: float = Field(32.0, gt=0, description="highest current per phase (A)")
    current_step_a: float | None = Field(
        None, gt=0, description="granularity of limits the station accepts (A); default 0.1"
    )
    can_switch_phases: bool = Field(False, description="the EVSE can switch between 1 and 3 phases")
    kind: Literal["ac", "dc"] = Field(
        "ac", description="ac, or dc (a DC charger is limited by its grid-side AC current)"
    )
    default_priority: int = Field(0, description="priority class of sessions here (higher first)")

    @model_validator(mode="after")
    def _wiring_fits(self) -> EvseConfig:
        if self.min_current_a > self.max_current_a:
            raise ValueError(f"evse {self.id}: min_current_a exceeds max_current_a")
        wiring = self.wiring
        if wiring is not None and (len(wiring) != self.phases or len(set(wiring)) != len(wiring)):
            raise ValueError(f"evse {self.id}: wiring needs {self.phases} distinct grid phases")
        return self

    @property
    def grid_phases(self) -> tuple[GridPhase, ...]:
        return self.wiring or GRID_PHASES[: self.phases]


def _known_strategy(name: str) -> str:
    if name not in STRATEGIES:
        raise ValueError(
            f"unknown profile strategy {name!r}; known: {', '.join(sorted(STRATEGIES))}"
        )
    return name


class StationConfig(StrictModel):
    """A charging station (an OCPP identity) and the site EVSEs behind it."""

    id: str = Field(min_length=1, max_length=48, description="the station's OCPP identity")
    evses: dict[int, Identifier] = Field(
        description="OCPP EVSE id (2.0.1) or connector id (1.6) -> site EVSE id"
    )
    profile: Annotated[str, AfterValidator(_known_strategy)] = Field(
        "default", description="charging-profile strategy for this station model (see README)"
    )


class SiteConfig(StrictModel):
    """The distribution tree and the EVSEs on it."""

    name: str = Field("site", description="a name for logs and telemetry")
    nominal_voltage_v: float = Field(230.0, gt=0, description="phase-to-neutral voltage (V)")
    nodes: tuple[NodeConfig, ...] = Field(min_length=1, description="the distribution tree")
    evses: tuple[EvseConfig, ...] = Field((), description="the charging points")

    @model_validator(mode="after")
    def _tree_is_sound(self) -> SiteConfig:
        node_ids = _unique([n.id for n in self.nodes], "node")
        _unique([e.id for e in self.evses], "evse")
        roots = [n.id for n in self.nodes if n.parent is None]
        if len(roots) != 1:
            raise ValueError(f"exactly one node needs no parent (the grid connection), got {roots}")
        for node in self.nodes:
            if node.parent is not None and node.parent not in node_ids:
                raise ValueError(f"node {node.id}: parent {node.parent} does not exist")
        _check_acyclic({n.id: n.parent for n in self.nodes})
        for evse in self.evses:
            if evse.node not in node_ids:
                raise ValueError(f"evse {evse.id}: node {evse.node} does not exist")
        return self

    def node(self, node_id: str) -> NodeConfig:
        return next(n for n in self.nodes if n.id == node_id)

    def voltage_v(self, node: NodeConfig) -> float:
        return node.nominal_voltage_v or self.nominal_voltage_v

    def children(self, node_id: str | None) -> list[NodeConfig]:
        return [n for n in self.nodes if n.parent == node_id]

    def ancestors(self, node_id: str) -> list[str]:
        """`node_id` and every node above it, up to the root."""
        chain: list[str] = []
        current: str | None = node_id
        parents = {n.id: n.parent for n in self.nodes}
        while current is not None:
            chain.append(current)
            current = parents[current]
        return chain


def _unique(ids: list[str], what: str) -> set[str]:
    seen: set[str] = set()
    for item in ids:
        if item in seen:
            raise ValueError(f"{what} id {item} appears twice")
        seen.add(item)
    return seen


def _check_acyclic(parents: dict[str, str | None]) -> None:
    for start in parents:
        visited: set[str] = set()
        current: str | None = start
        while current is not None:
            if current in visited:
                raise ValueError(f"node {start} is part of a cycle")
            visited.add(current)
            current = parents[current]


def check_stations(site: SiteConfig | None, stations: tuple[StationConfig, ...]) -> None:
    """Every station EVSE exists in the site, and belongs to one station only."""
    _unique([s.id for s in stations], "station")
    evse_ids = {e.id for e in site.evses} if site else set()
    owner: dict[str, str] = {}
    for station in stations:
        for evse_id in station.evses.values():
            if evse_id not in evse_ids:
                raise ValueError(f"station {station.id}: evse {evse_id} is not in the site")
            if evse_id in owner:
                raise ValueError(f"evse {evse_id} belongs to {owner[evse_id]} and {station.id}")
            owner[evse_id] = station.id
