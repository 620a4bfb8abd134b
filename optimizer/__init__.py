"""localctl's optimizer: phase-aware, fair, priority-aware allocation over a fuse tree.

Pure: frozen dataclasses in, frozen dataclasses out; no I/O, no clock, no globals.
"""

from optimizer.allocate import allocate
from optimizer.errors import InvalidInputError, OptimizerError, SolverError
from optimizer.fallback import FallbackFloor, FallbackNode, FallbackPlan, fallback_plan
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
from optimizer.result import Allocation, EvseAllocation, NodeHeadroom

__all__ = [
    "Allocation",
    "AllocatorState",
    "Evse",
    "EvseAllocation",
    "EvseState",
    "FallbackFloor",
    "FallbackNode",
    "FallbackPlan",
    "InvalidInputError",
    "Node",
    "NodeHeadroom",
    "NodeLimit",
    "OptimizerError",
    "Options",
    "PhaseMix",
    "Session",
    "Site",
    "SolverError",
    "allocate",
    "fallback_plan",
]
