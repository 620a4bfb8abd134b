"""What the controller knows about each configured station, from the traffic it relays.

Every relayed frame goes through the station's `StationTranslator`; the resulting model events
keep, per site EVSE: whether a vehicle is there, its session (transaction, arrival, needs),
and its last measured current per conductor. The CSMS's own charging profiles are recorded
once the station has accepted them (and forgotten when a ClearChargingProfile it accepted
removes them), so the controller can keep the station under the lower of the CSMS's limits and
its own. Stations that are not in the configuration are relayed but not controlled.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field

from localctl.config.site import EvseConfig, SiteConfig, StationConfig
from localctl.inputs.readings import PhaseValues
from localctl.model.clearing import ClearSpec
from localctl.model.errors import UnreadablePayloadError
from localctl.model.events import (
    ChargingNeedsReported,
    EvseStatus,
    EvseStatusChanged,
    MeterSample,
    ModelEvent,
    SessionEnded,
    SessionStarted,
)
from localctl.model.profiles import ProfileSpec
from localctl.model.translator import StationTranslator
from localctl.relay.events import FrameRelayed, LinkClosed, LinkEvent, LinkOpened, Side
from localctl.relay.frames import MessageType
from localctl.relay.versions import OcppVersion
from localctl.site.to_optimizer import grid_draw_a
from optimizer.model import Session

_VEHICLE_PRESENT = frozenset(
    {EvseStatus.OCCUPIED, EvseStatus.CHARGING, EvseStatus.SUSPENDED_EV, EvseStatus.SUSPENDED_EVSE}
)
_PHASE_IN_USE_A = 1.0  # a conductor carrying more than this is a phase in use


@dataclass(slots=True)
class EvseRuntime:
    config: EvseConfig
    status: EvseStatus | None = None
    transaction_id: str | None = None
    arrival_s: float | None = None
    current_a: tuple[float, ...] = ()
    departure_s: float | None = None
    energy_needed_wh: float | None = None
    ev_max_current_a: float | None = None

    @property
    def charging_possible(self) -> bool:
        """A transaction runs, or the station says a vehicle is there and may charge."""
        return self.transaction_id is not None or self.status in (
            EvseStatus.CHARGING,
            EvseStatus.SUSPENDED_EV,
            EvseStatus.SUSPENDED_EVSE,
        )


@dataclass(slots=True)
class StationRuntime:
    config: StationConfig
    evses: dict[int, EvseRuntime]
    version: OcppVersion | None = None
    translator: StationTranslator | None = None
    csms_profiles: dict[int, ProfileSpec] = field(default_factory=dict)
    pending_csms: dict[str, ProfileSpec | ClearSpec] = field(default_factory=dict)
    connected_at_s: float | None = None

    @property
    def connected(self) -> bool:
        return self.connected_at_s is not None


class StationRegistry:
    """Per-station and per-EVSE runtime state, fed by the relay's listener."""

    def __init__(
        self,
        site: SiteConfig,
        stations: tuple[StationConfig, ...],
        monotonic: Callable[[], float],
        wall: Callable[[], float],
    ) -> None:
        evses = {e.id: e for e in site.evses}
        self.stations = {
            s.id: StationRuntime(s, {n: EvseRuntime(evses[e]) for n, e in s.evses.items()})
            for s in stations
        }
        self._monotonic = monotonic
        self._wall = wall
        self.changed = False
        """set when something happened that should wake the control loop"""

    # -- input -------------------------------------------------------------------------------

    def on_link_event(self, station_id: str, event: LinkEvent) -> None:
        station = self.stations.get(station_id)
        if station is None:
            return
        if isinstance(event, LinkOpened):
            station.version = event.version
            station.translator = StationTranslator(station_id, event.version)
            station.connected_at_s = self._monotonic()
            self.changed = True
        elif isinstance(event, LinkClosed):
            station.connected_at_s = None
            station.pending_csms.clear()
            self.changed = True
        elif isinstance(event, FrameRelayed) and station.translator is not None:
            self._record_csms_profiles(station, event)
            for model_event in station.translator.observe(event):
                self._apply(station, model_event)

    def _apply(self, station: StationRuntime, event: ModelEvent) -> None:
        evse_id = getattr(event, "evse_id", None)
        evse = station.evses.get(evse_id) if isinstance(evse_id, int) else None
        if evse is None:
            return
        now_s = self._monotonic()
        if isinstance(event, EvseStatusChanged):
            self._status(evse, event.status, now_s)
        elif isinstance(event, SessionStarted):
            evse.transaction_id = event.transaction_id
            evse.arrival_s = evse.arrival_s if evse.arrival_s is not None else now_s
            self.changed = True
        elif isinstance(event, SessionEnded):
            evse.transaction_id = None
            if evse.status in _VEHICLE_PRESENT:  # maybe still plugged in, no longer charging
                evse.status = EvseStatus.OCCUPIED
            self.changed = True
        elif isinstance(event, MeterSample) and event.current_a is not None:
            evse.current_a = tuple(0.0 if c is None else c for c in event.current_a)
        elif isinstance(event, ChargingNeedsReported):
            self._needs(evse, event)

    def _status(self, evse: EvseRuntime, status: EvseStatus, now_s: float) -> None:
        vehicle_now = status in _VEHICLE_PRESENT
        if vehicle_now and evse.arrival_s is None:
            evse.arrival_s = now_s
        if not vehicle_now and status is not EvseStatus.RESERVED:
            evse.arrival_s = None
            evse.current_a = ()
            evse.departure_s = evse.energy_needed_wh = evse.ev_max_current_a = None
        evse.status = status
        self.changed = True

    def _needs(self, evse: EvseRuntime, event: ChargingNeedsReported) -> None:
        if event.departure_time is not None:
            evse.departure_s = self._monotonic() + event.departure_time.timestamp() - self._wall()
        evse.energy_needed_wh = event.energy_amount_wh
        evse.ev_max_current_a = event.ac_max_current_a
        self.changed = True

    def _record_csms_profiles(self, station: StationRuntime, event: FrameRelayed) -> None:
        """CSMS profiles count once the station accepted them (1.6 5.16, 2.0.1 K01/K10)."""
        assert station.version is not None
        if event.source is Side.CSMS and event.message_type is MessageType.CALL:
            recorded: ProfileSpec | ClearSpec | None = None
            # An unreadable profile is refused by the station too: nothing to record.
            with contextlib.suppress(UnreadablePayloadError):
                if event.action == "SetChargingProfile":
                    recorded = ProfileSpec.from_payload(station.version, event.payload)
                elif event.action == "ClearChargingProfile":
                    recorded = ClearSpec.from_payload(station.version, event.payload)
            if recorded is not None:
                station.pending_csms[event.message_id] = recorded
        elif event.source is Side.STATION and event.message_type is MessageType.CALLRESULT:
            pending = station.pending_csms.pop(event.message_id, None)
            if pending is None or event.payload.get("status") != "Accepted":
                return
            if isinstance(pending, ProfileSpec):
                station.csms_profiles[pending.profile_id] = pending
            else:
                kept = {i: p for i, p in station.csms_profiles.items() if not pending.removes(p)}
                station.csms_profiles = kept
            self.changed = True

    # -- output for the control loop ---------------------------------------------------------

    def sessions(self) -> list[Session]:
        """Optimizer sessions for every configured EVSE where charging is possible now."""
        sessions = []
        for station in self.stations.values():
            if not station.connected:
                continue
            for evse in station.evses.values():
                if evse.charging_possible and evse.arrival_s is not None:
                    sessions.append(_session(evse))
        return sorted(sessions, key=lambda s: s.evse_id)

    def ev_draw_a(self) -> dict[str, PhaseValues]:
        """Measured draw of every EVSE per grid phase, through its wiring."""
        return {
            evse.config.id: grid_draw_a(evse.config, evse.current_a)
            for station in self.stations.values()
            for evse in station.evses.values()
            if evse.current_a
        }


def _session(evse: EvseRuntime) -> Session:
    assert evse.arrival_s is not None
    measured = evse.current_a[: evse.config.phases] if evse.current_a else None
    phases_in_use = None
    if measured and sum(measured) > 2 * _PHASE_IN_USE_A:
        phases_in_use = sum(1 for c in measured if c > _PHASE_IN_USE_A) or None
    return Session(
        evse_id=evse.config.id,
        arrival_s=evse.arrival_s,
        phases_in_use=phases_in_use,
        ev_max_current_a=evse.ev_max_current_a,
        measured_current_a=measured,
        priority=evse.config.default_priority,
        departure_s=evse.departure_s,
        energy_needed_wh=evse.energy_needed_wh,
    )
