"""What the controller knows about each configured station, from the traffic it relays.

Every relayed frame goes through the station's `StationTranslator`; the resulting model events
keep, per site EVSE: whether a vehicle is there, its session (transaction, arrival, needs),
and its last measured current per conductor. The CSMS's own charging profiles are recorded
once the station has accepted them (and forgotten when a ClearChargingProfile it accepted
removes them), so the controller can keep the station under the lower of the CSMS's limits and
its own. Stations that are not in the configuration are relayed but not controlled.

What must survive a restart goes to a `StateJournal` when it changes and comes back through
`restore`. A restored session is reconciled with what its station says once it reconnects:
1.6 stations do not repeat StartTransaction, so a restored session stands until a StatusNotification
Available on its connector (1.6: no transaction can run there) or its StopTransaction ends it;
a meter value or event naming its transaction confirms it.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from localctl.config.site import EvseConfig, SiteConfig, StationConfig
from localctl.control.state_records import (
    CsmsProfileRecord,
    EvseRecord,
    NoJournal,
    StateJournal,
    StationState,
)
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
from localctl.model.profiles import ProfilePurpose, ProfileSpec
from localctl.model.translator import StationTranslator
from localctl.relay.events import FrameRelayed, LinkClosed, LinkEvent, LinkOpened, Side
from localctl.relay.frames import JsonObject, MessageType
from localctl.relay.versions import OcppVersion
from localctl.site.to_optimizer import grid_draw_a
from optimizer.model import Session

_VEHICLE_PRESENT = frozenset(
    {EvseStatus.OCCUPIED, EvseStatus.CHARGING, EvseStatus.SUSPENDED_EV, EvseStatus.SUSPENDED_EVSE}
)
_PHASE_IN_USE_A = 1.0  # a conductor carrying more than this is a phase in use

log = logging.getLogger("localctl.control")


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
    # The same instants on the wall clock, which is what survives a restart.
    arrival_wall_s: float | None = None
    departure_wall_s: float | None = None
    id_token: str | None = None
    restored: bool = False
    """the session was loaded from the state file, not seen starting in this process"""
    confirmed: bool = False
    """the station has named the restored session's transaction since"""

    def record(self) -> EvseRecord:
        return EvseRecord(
            self.status,
            self.transaction_id,
            self.arrival_wall_s,
            self.departure_wall_s,
            self.energy_needed_wh,
            self.ev_max_current_a,
            self.id_token,
        )

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
    pending_csms: dict[str, tuple[ProfileSpec | ClearSpec, JsonObject]] = field(
        default_factory=dict
    )
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
        self.journal: StateJournal = NoJournal()
        """where changes that must survive a restart go (the state file, once open)"""
        self._saved: dict[tuple[str, int], EvseRecord] = {}

    # -- restart -----------------------------------------------------------------------------

    def restore(self, station_id: str, state: StationState) -> list[int]:
        """Take a configured station's saved EVSEs and CSMS profiles; returns the saved EVSE
        numbers the configuration no longer has (the caller drops them)."""
        station = self.stations[station_id]
        gone = []
        for ocpp_id, record in state.evses.items():
            evse = station.evses.get(ocpp_id)
            if evse is None:
                gone.append(ocpp_id)
                continue
            self._restore_evse(evse, record)
            self._saved[(station_id, ocpp_id)] = record
        for profile_id, saved in state.csms_profiles.items():
            # Read again as when the station accepted it; it was readable then.
            spec = ProfileSpec.from_payload(saved.version, saved.payload)
            station.csms_profiles[profile_id] = spec
        return gone

    def _restore_evse(self, evse: EvseRuntime, record: EvseRecord) -> None:
        mono_minus_wall_s = self._monotonic() - self._wall()
        evse.status = record.status
        evse.transaction_id = record.transaction_id
        evse.restored = record.transaction_id is not None
        evse.arrival_wall_s = record.arrival_wall_s
        if record.arrival_wall_s is not None:
            evse.arrival_s = record.arrival_wall_s + mono_minus_wall_s
        evse.departure_wall_s = record.departure_wall_s
        if record.departure_wall_s is not None:
            evse.departure_s = record.departure_wall_s + mono_minus_wall_s
        evse.energy_needed_wh = record.energy_needed_wh
        evse.ev_max_current_a = record.ev_max_current_a
        evse.id_token = record.id_token

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
        found = _evse_of(station, event)
        if found is None:
            return
        ocpp_id, evse = found
        now_s = self._monotonic()
        if isinstance(event, EvseStatusChanged):
            self._status(station, ocpp_id, event.status, now_s)
        elif isinstance(event, SessionStarted):
            self._confirm(station, evse, event.transaction_id)
            evse.transaction_id, evse.id_token = event.transaction_id, event.id_token
            if evse.arrival_s is None:
                self._arrived(evse, now_s)
            self.changed = True
        elif isinstance(event, SessionEnded):
            self._end_session(station, ocpp_id, evse)
        elif isinstance(event, MeterSample):
            if event.transaction_id is not None:
                self._confirm(station, evse, event.transaction_id)
            if event.current_a is not None:
                evse.current_a = tuple(0.0 if c is None else c for c in event.current_a)
        elif isinstance(event, ChargingNeedsReported):
            self._needs(evse, event)
        self._save(station, ocpp_id, evse)

    def _save(self, station: StationRuntime, ocpp_id: int, evse: EvseRuntime) -> None:
        """Journal the EVSE's record if it changed (a meter sample changes nothing in it)."""
        key = (station.config.id, ocpp_id)
        record = evse.record()
        if self._saved.get(key) != record:
            self._saved[key] = record
            self.journal.evse_changed(station.config.id, ocpp_id, record)

    def _arrived(self, evse: EvseRuntime, now_s: float) -> None:
        evse.arrival_s = now_s
        evse.arrival_wall_s = self._wall()

    def _confirm(self, station: StationRuntime, evse: EvseRuntime, transaction_id: str) -> None:
        """The station names a transaction on the EVSE of a restored session."""
        if not evse.restored or evse.confirmed:
            return
        if transaction_id == evse.transaction_id:
            evse.confirmed = True
            log.info(
                "%s: restored transaction %s on %s confirmed by the station",
                station.config.id, transaction_id, evse.config.id,
                extra={"station_id": station.config.id},
            )  # fmt: skip
            return
        log.warning(
            "%s: restored transaction %s on %s is over: the station reports %s there",
            station.config.id, evse.transaction_id, evse.config.id, transaction_id,
            extra={"station_id": station.config.id},
        )  # fmt: skip
        evse.transaction_id, evse.restored = transaction_id, False
        self._arrived(evse, self._monotonic())  # a session that started while we were down
        self.changed = True

    def _end_session(self, station: StationRuntime, ocpp_id: int, evse: EvseRuntime) -> None:
        ended = evse.transaction_id
        evse.transaction_id = evse.id_token = None
        evse.restored = evse.confirmed = False
        if evse.status in _VEHICLE_PRESENT:  # maybe still plugged in, no longer charging
            evse.status = EvseStatus.OCCUPIED
        # A TxProfile ends with its transaction (1.6 3.13.2, 2.0.1 K02.FR.05).
        gone = tuple(
            i
            for i, p in station.csms_profiles.items()
            if p.purpose is ProfilePurpose.TX
            and p.evse_id == ocpp_id
            and p.transaction_id in (None, ended)
        )
        self._forget_csms_profiles(station, gone)
        self.changed = True

    def _forget_csms_profiles(self, station: StationRuntime, gone: tuple[int, ...]) -> None:
        for profile_id in gone:
            del station.csms_profiles[profile_id]
        if gone:
            self.journal.csms_profiles_removed(station.config.id, gone)

    def _status(
        self, station: StationRuntime, ocpp_id: int, status: EvseStatus, now_s: float
    ) -> None:
        evse = station.evses[ocpp_id]
        vehicle_now = status in _VEHICLE_PRESENT
        if vehicle_now and evse.arrival_s is None:
            self._arrived(evse, now_s)
        if status is EvseStatus.AVAILABLE and evse.restored and station.version is OcppVersion.V16:
            # 1.6 4.9: Available is a connector free for a new user, so no transaction runs
            # there: its StopTransaction was sent while the controller was down.
            log.warning(
                "%s: restored transaction %s on %s ended: the connector is Available",
                station.config.id, evse.transaction_id, evse.config.id,
                extra={"station_id": station.config.id},
            )  # fmt: skip
            self._end_session(station, ocpp_id, evse)
        if not vehicle_now and status is not EvseStatus.RESERVED:
            evse.arrival_s = evse.arrival_wall_s = None
            evse.current_a = ()
            evse.departure_s = evse.departure_wall_s = None
            evse.energy_needed_wh = evse.ev_max_current_a = None
        evse.status = status
        self.changed = True

    def _needs(self, evse: EvseRuntime, event: ChargingNeedsReported) -> None:
        if event.departure_time is not None:
            evse.departure_wall_s = event.departure_time.timestamp()
            evse.departure_s = self._monotonic() + evse.departure_wall_s - self._wall()
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
                station.pending_csms[event.message_id] = (recorded, event.payload)
        elif event.source is Side.STATION and event.message_type is MessageType.CALLRESULT:
            pending, payload = station.pending_csms.pop(event.message_id, (None, {}))
            if pending is None or event.payload.get("status") != "Accepted":
                return
            station_id = station.config.id
            if isinstance(pending, ProfileSpec):
                station.csms_profiles[pending.profile_id] = pending
                record = CsmsProfileRecord(station.version, payload)
                self.journal.csms_profile_accepted(station_id, pending.profile_id, record)
            else:
                gone = tuple(i for i, p in station.csms_profiles.items() if pending.removes(p))
                self._forget_csms_profiles(station, gone)
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


def _evse_of(station: StationRuntime, event: ModelEvent) -> tuple[int, EvseRuntime] | None:
    """The EVSE an event is about: by number, else by its transaction (after a restart the
    translator has not seen the start that tells a 1.6 StopTransaction's connector)."""
    evse_id = getattr(event, "evse_id", None)
    if isinstance(evse_id, int):
        evse = station.evses.get(evse_id)
        return None if evse is None else (evse_id, evse)
    transaction_id = getattr(event, "transaction_id", None)
    if transaction_id is None:
        return None
    return next(
        ((n, e) for n, e in station.evses.items() if e.transaction_id == transaction_id), None
    )


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
