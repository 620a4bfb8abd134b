"""SiteState: the latest input of every kind, with its age, in one place.

It is the `ReadingSink` every input delivers to. It never blocks and never decides: the
control loop takes a `SiteSnapshot` each cycle and the pure functions in `failsafe` and
`to_optimizer` turn it into optimizer input. Status transitions (fresh, stale, lost) are
reported once each, so they can be logged and published.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum

from localctl.inputs.readings import EmsLimit, InputFault, MeterReading


class InputStatus(Enum):
    FRESH = "fresh"
    STALE = "stale"  # assume the node at its limit: no increases below it
    LOST = "lost"  # fall back to the floors below it


@dataclass(frozen=True, slots=True)
class MeterView:
    meter_id: str
    node_id: str
    reading: MeterReading | None
    age_s: float | None
    status: InputStatus
    last_fault: InputFault | None


@dataclass(frozen=True, slots=True)
class EmsView:
    node_id: str
    limit: EmsLimit
    expired: bool


@dataclass(frozen=True, slots=True)
class SiteSnapshot:
    """Everything the inputs said, as of `monotonic_s`."""

    monotonic_s: float
    meters: tuple[MeterView, ...]
    ems_limits: tuple[EmsView, ...]


@dataclass(frozen=True, slots=True)
class InputTransition:
    input_id: str
    previous: InputStatus | None
    current: InputStatus
    monotonic_s: float


@dataclass(slots=True)
class _MeterSlot:
    node_id: str
    reading: MeterReading | None = None
    last_fault: InputFault | None = None


@dataclass
class SiteState:
    """Latest meter readings, EMS limits and input faults, stamped on arrival."""

    meter_nodes: Mapping[str, str]
    """meter id -> node id, for every configured meter (an unread meter counts as lost)"""
    stale_after_s: float
    lost_after_s: float
    monotonic: Callable[[], float]
    on_change: Callable[[], None] | None = None
    """called when a reading jumps by more than `jump_a` on a phase, or an EMS limit arrives:
    the control loop then reacts at once instead of at its next period"""
    jump_a: float = 2.0
    _meters: dict[str, _MeterSlot] = field(init=False)
    _ems: dict[tuple[str, str], EmsLimit] = field(init=False, default_factory=dict)
    _faults: dict[str, InputFault] = field(init=False, default_factory=dict)
    _statuses: dict[str, InputStatus] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self._meters = {m: _MeterSlot(node) for m, node in self.meter_nodes.items()}

    # -- ReadingSink ---------------------------------------------------------------------------

    def meter_reading(self, reading: MeterReading) -> None:
        slot = self._meters.get(reading.meter_id)
        if slot is None:  # a reading from a meter the site does not know: keep it out
            self.input_fault(InputFault(reading.meter_id, "unknown meter", reading.monotonic_s))
            return
        previous, slot.reading = slot.reading, reading
        if previous is None or any(
            abs(now - before) > self.jump_a
            for now, before in zip(reading.current_a, previous.current_a, strict=True)
        ):
            self._changed()

    def ems_limit(self, limit: EmsLimit) -> None:
        self._ems[(limit.node_id, limit.source)] = limit
        self._changed()

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()

    def input_fault(self, fault: InputFault) -> None:
        self._faults[fault.input_id] = fault
        slot = self._meters.get(fault.input_id)
        if slot is not None:
            slot.last_fault = fault

    # -- the control loop's side -----------------------------------------------------------

    def snapshot(self) -> SiteSnapshot:
        now_s = self.monotonic()
        meters = tuple(
            self._meter_view(meter_id, slot, now_s)
            for meter_id, slot in sorted(self._meters.items())
        )
        ems = tuple(
            EmsView(node_id, limit, expired=now_s >= limit.valid_until_monotonic_s)
            for (node_id, _), limit in sorted(self._ems.items())
        )
        return SiteSnapshot(now_s, meters, ems)

    def transitions(self, snapshot: SiteSnapshot) -> list[InputTransition]:
        """Meter and EMS status changes since the previous call, each reported once."""
        current = {m.meter_id: m.status for m in snapshot.meters}
        for view in snapshot.ems_limits:
            key = f"ems:{view.node_id}:{view.limit.source}"
            current[key] = InputStatus.LOST if view.expired else InputStatus.FRESH
        changes = [
            InputTransition(input_id, self._statuses.get(input_id), status, snapshot.monotonic_s)
            for input_id, status in sorted(current.items())
            if self._statuses.get(input_id) is not status
        ]
        self._statuses = current
        return changes

    def _meter_view(self, meter_id: str, slot: _MeterSlot, now_s: float) -> MeterView:
        if slot.reading is None:
            return MeterView(meter_id, slot.node_id, None, None, InputStatus.LOST, slot.last_fault)
        age_s = max(0.0, now_s - slot.reading.monotonic_s)
        status = self._status_for(age_s)
        return MeterView(meter_id, slot.node_id, slot.reading, age_s, status, slot.last_fault)

    def _status_for(self, age_s: float) -> InputStatus:
        if age_s > self.lost_after_s:
            return InputStatus.LOST
        if age_s > self.stale_after_s:
            return InputStatus.STALE
        return InputStatus.FRESH
