"""Version-independent events: what a station did, whatever OCPP version it speaks.

Identifiers: `evse_id` 0 is the whole station. In 1.6 a connector is what 2.0.1 calls an
EVSE, so a 1.6 connector id becomes the `evse_id` (and the `connector_id`). Transaction ids
are strings in both versions (1.6 integers are written in decimal). Times are aware UTC
datetimes, None when the station sent none or an unreadable one. Units are SI, in the names.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from localctl.model.schedules import ChargingSchedule


class EvseStatus(Enum):
    """An EVSE's state, normalised: 1.6 Preparing and Finishing, and 2.0.1 Occupied and
    EVConnected, are all OCCUPIED (an EV or a user holds the EVSE, no energy flows)."""

    AVAILABLE = "Available"
    OCCUPIED = "Occupied"
    CHARGING = "Charging"
    SUSPENDED_EV = "SuspendedEV"
    SUSPENDED_EVSE = "SuspendedEVSE"
    RESERVED = "Reserved"
    UNAVAILABLE = "Unavailable"
    FAULTED = "Faulted"


@dataclass(frozen=True, slots=True)
class StationConnected:
    """Made by the shell when a station's socket is accepted (not by the translator)."""

    station_id: str
    ocpp_version: str  # the WebSocket subprotocol, e.g. "ocpp1.6"


@dataclass(frozen=True, slots=True)
class StationDisconnected:
    """Made by the shell when a station's socket closes (not by the translator)."""

    station_id: str


@dataclass(frozen=True, slots=True)
class StationBooted:
    station_id: str
    vendor: str | None
    model: str | None
    firmware_version: str | None


@dataclass(frozen=True, slots=True)
class EvseStatusChanged:
    station_id: str
    evse_id: int
    connector_id: int | None
    status: EvseStatus
    timestamp: datetime | None
    error_code: str | None = None  # 1.6 errorCode other than NoError


@dataclass(frozen=True, slots=True)
class SessionStarted:
    station_id: str
    evse_id: int | None
    transaction_id: str
    id_token: str | None
    meter_start_wh: float | None
    timestamp: datetime | None


@dataclass(frozen=True, slots=True)
class SessionEnded:
    station_id: str
    evse_id: int | None  # None when the transaction's start was never seen
    transaction_id: str
    reason: str | None  # as the station wrote it (1.6 Reason, 2.0.1 stoppedReason)
    meter_stop_wh: float | None
    timestamp: datetime | None


@dataclass(frozen=True, slots=True)
class MeterSample:
    """One sampling instant. `current_a` is (L1, L2, L3) of the EVSE's own conductors, not
    of the site (rotation is the site model's business); `current_unphased_a` is a current
    reported without a phase, whose conductor is unknown."""

    station_id: str
    evse_id: int | None
    transaction_id: str | None
    current_a: tuple[float | None, float | None, float | None] | None
    power_w: float | None
    energy_wh: float | None
    soc_percent: float | None
    voltage_v: float | None
    timestamp: datetime | None
    current_unphased_a: float | None = None
    current_offered_a: float | None = None


@dataclass(frozen=True, slots=True)
class ChargingNeedsReported:
    """2.0.1 NotifyEVChargingNeeds (ISO 15118 via the station, K15-K17)."""

    station_id: str
    evse_id: int
    energy_transfer: str | None  # DC, AC_single_phase, AC_two_phase, AC_three_phase
    departure_time: datetime | None
    energy_amount_wh: float | None
    ac_max_current_a: float | None
    ac_min_current_a: float | None
    ac_phases: int | None
    dc_max_power_w: float | None = None
    soc_percent: float | None = None


@dataclass(frozen=True, slots=True)
class ChargingLimitReported:
    """2.0.1 NotifyChargingLimit: a limit an external system set on the station (K11, K12)."""

    station_id: str
    evse_id: int | None
    source: str | None  # EMS, Other, SO, CSO
    is_grid_critical: bool | None
    schedules: tuple[ChargingSchedule, ...]


@dataclass(frozen=True, slots=True)
class ProfileAccepted:
    station_id: str
    profile_id: int
    evse_id: int


@dataclass(frozen=True, slots=True)
class ProfileRejected:
    station_id: str
    profile_id: int
    evse_id: int
    raw_status: str | None  # None for a CALLERROR or no answer
    reason: str | None  # 2.0.1 statusInfo.reasonCode, or the CALLERROR code


@dataclass(frozen=True, slots=True)
class TranslationProblem:
    """A frame the translator could not make sense of; nothing else was produced from it."""

    station_id: str
    action: str
    message_id: str
    description: str


ModelEvent = (
    StationConnected
    | StationDisconnected
    | StationBooted
    | EvseStatusChanged
    | SessionStarted
    | SessionEnded
    | MeterSample
    | ChargingNeedsReported
    | ChargingLimitReported
    | ProfileAccepted
    | ProfileRejected
    | TranslationProblem
)
