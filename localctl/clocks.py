"""The clocks and randomness the runtime uses, in one injectable object."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Clocks:
    monotonic: Callable[[], float] = time.monotonic
    """for ages, timeouts and leases: immune to clock steps"""
    wall: Callable[[], float] = time.time
    """for timestamps sent to stations (profile start and validity)"""
    rng: random.Random = field(default_factory=random.Random)
