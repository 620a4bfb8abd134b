"""What every input yields, whatever it talks to: timestamped readings and limits.

Inputs convert to SI units once, at the adapter, and stamp every reading with two clocks: a
monotonic one for ages and timeouts (immune to clock steps) and wall time for display and
telemetry. Sinks receive them through one small interface.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

PhaseValues = tuple[float, float, float]
"""One value per grid phase L1, L2, L3."""


@dataclass(frozen=True, slots=True)
class MeterReading:
    """One sample of a meter that measures what flows through a node of the site tree."""

    meter_id: str
    node_id: str
    current_a: PhaseValues
    voltage_v: PhaseValues | None
    power_w: PhaseValues | None
    monotonic_s: float
    wall_time_s: float


@dataclass(frozen=True, slots=True)
class EmsLimit:
    """A limit an energy-management system sets on a node, valid until `valid_until_monotonic_s`.

    At least one of `power_w` (total over the phases) and `current_a` (per phase) is set.
    """

    source: str
    node_id: str
    power_w: float | None
    current_a: PhaseValues | None
    valid_until_monotonic_s: float
    received_monotonic_s: float
    wall_time_s: float


@dataclass(frozen=True, slots=True)
class InputFault:
    """An input could not deliver: the meter is unreachable, a payload was rejected, ..."""

    input_id: str
    description: str
    monotonic_s: float


class ReadingSink(Protocol):
    """Where inputs deliver. Implementations must not block: they record and return."""

    def meter_reading(self, reading: MeterReading) -> None: ...

    def ems_limit(self, limit: EmsLimit) -> None: ...

    def input_fault(self, fault: InputFault) -> None: ...
