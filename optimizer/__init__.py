"""localctl's optimizer: phase-aware, fair, priority-aware allocation over a fuse tree.

Pure: frozen dataclasses in, frozen dataclasses out; no I/O, no clock, no globals.
"""

from optimizer.allocate import allocate
from optimizer.errors import InvalidInputError, OptimizerError, SolverError
from optimizer.model import (
    AllocatorState,
    Evse,
    EvseState,
    Node,
    NodeLimit,
    Options,
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
    "InvalidInputError",
    "Node",
    "NodeHeadroom",
    "NodeLimit",
    "OptimizerError",
    "Options",
    "Session",
    "Site",
    "SolverError",
    "allocate",
]
