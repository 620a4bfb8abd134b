"""What the controller keeps across a restart, as plain records, and where it sends them.

The registry and the control loop report each durable change to a `StateJournal` when it
happens (a session starts or ends, needs are reported, the station accepts a CSMS profile or a
clear, a limit is installed), never per meter sample. Times are wall-clock seconds (Unix
time): monotonic clocks restart with the process, so they cannot be kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from localctl.model.events import EvseStatus
from localctl.relay.frames import JsonObject
from localctl.relay.versions import OcppVersion


@dataclass(frozen=True, slots=True)
class EvseRecord:
    """One EVSE of a station as the registry knows it: status and session, if any."""

    status: EvseStatus | None = None
    transaction_id: str | None = None
    arrival_wall_s: float | None = None
    departure_wall_s: float | None = None
    energy_needed_wh: float | None = None
    ev_max_current_a: float | None = None
    id_token: str | None = None


@dataclass(frozen=True, slots=True)
class CsmsProfileRecord:
    """A SetChargingProfile the station accepted from the CSMS, kept as the CSMS wrote it, so
    it is read again exactly as the first time, whatever the codec could express."""

    version: OcppVersion
    payload: JsonObject


@dataclass(frozen=True, slots=True)
class InstallRecord:
    """A limit the station accepted from the controller (key as in `control.limits`)."""

    limit_a: float
    phases: int
    lease_until_wall_s: float | None  # None: no expiry (a floor)
    transaction_id: str | None  # a TxProfile lasts as long as its transaction


@dataclass(frozen=True, slots=True)
class StationState:
    evses: dict[int, EvseRecord] = field(default_factory=dict)
    csms_profiles: dict[int, CsmsProfileRecord] = field(default_factory=dict)
    installed: dict[str, InstallRecord] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ControlState:
    """Everything loaded from the state file, by station id."""

    stations: dict[str, StationState] = field(default_factory=dict)


class StateJournal(Protocol):
    """Takes durable changes; must not block the caller (the event loop)."""

    def evse_changed(self, station_id: str, ocpp_evse_id: int, record: EvseRecord) -> None: ...

    def csms_profile_accepted(
        self, station_id: str, profile_id: int, record: CsmsProfileRecord
    ) -> None: ...

    def csms_profiles_removed(self, station_id: str, profile_ids: tuple[int, ...]) -> None: ...

    def limit_installed(self, station_id: str, key: str, record: InstallRecord) -> None: ...


class NoJournal:
    """Keeps nothing: the controller before its state file is open, and unit tests."""

    def evse_changed(self, station_id: str, ocpp_evse_id: int, record: EvseRecord) -> None:
        pass

    def csms_profile_accepted(
        self, station_id: str, profile_id: int, record: CsmsProfileRecord
    ) -> None:
        pass

    def csms_profiles_removed(self, station_id: str, profile_ids: tuple[int, ...]) -> None:
        pass

    def limit_installed(self, station_id: str, key: str, record: InstallRecord) -> None:
        pass
