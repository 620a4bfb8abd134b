"""OCPP 2.0.1 station frames to model events, as tables of handlers by action.

TransactionEvent (block E): Started carries the transaction id in the request, so the
session starts on the call; `evse` appears only in the first message after the EV connected
(E01.FR.16), so the EVSE of each transaction is remembered; a repeated seqNo (a message
replayed after an outage) yields nothing the second time. The charging state (Charging,
SuspendedEV, SuspendedEVSE, EVConnected) is reported only here in 2.0.1, so it becomes an
EvseStatusChanged; Idle (no EV connected) is left to StatusNotification. An Ended without a
stoppedReason means Local (TransactionType.stoppedReason).
"""

from __future__ import annotations

from collections.abc import Callable

from localctl.model.events import (
    ChargingLimitReported,
    ChargingNeedsReported,
    EvseStatus,
    EvseStatusChanged,
    ModelEvent,
    SessionEnded,
    SessionStarted,
    StationBooted,
)
from localctl.model.meter import first_energy_wh, last_energy_wh, samples_from
from localctl.model.payload import (
    JsonObject,
    bool_at,
    integer_at,
    lookup,
    number_at,
    object_at,
    objects_at,
    required,
    text_at,
)
from localctl.model.schedules import schedule_from_json
from localctl.model.timestamps import parse_timestamp
from localctl.model.tracking import TransactionTracker

CallHandler = Callable[[str, TransactionTracker, JsonObject], list[ModelEvent]]

CONNECTOR_STATUS_201 = {
    "Available": EvseStatus.AVAILABLE,
    "Occupied": EvseStatus.OCCUPIED,
    "Reserved": EvseStatus.RESERVED,
    "Unavailable": EvseStatus.UNAVAILABLE,
    "Faulted": EvseStatus.FAULTED,
}
CHARGING_STATE_201 = {
    "Charging": EvseStatus.CHARGING,
    "SuspendedEV": EvseStatus.SUSPENDED_EV,
    "SuspendedEVSE": EvseStatus.SUSPENDED_EVSE,
    "EVConnected": EvseStatus.OCCUPIED,
}
PHASES_OF_TRANSFER = {"AC_single_phase": 1, "AC_two_phase": 2, "AC_three_phase": 3}


def on_boot(station_id: str, _: TransactionTracker, call: JsonObject) -> list[ModelEvent]:
    station = object_at(call, "chargingStation") or {}
    vendor, model = text_at(station, "vendorName"), text_at(station, "model")
    return [StationBooted(station_id, vendor, model, text_at(station, "firmwareVersion"))]


def on_status(station_id: str, _: TransactionTracker, call: JsonObject) -> list[ModelEvent]:
    evse_id = required(integer_at(call, "evseId"), "evseId")
    status = required(lookup(CONNECTOR_STATUS_201, call.get("connectorStatus")), "status")
    connector_id = integer_at(call, "connectorId")
    timestamp = parse_timestamp(call.get("timestamp"))
    return [EvseStatusChanged(station_id, evse_id, connector_id, status, timestamp)]


def on_meter_values(station_id: str, _: TransactionTracker, call: JsonObject) -> list[ModelEvent]:
    evse_id = required(integer_at(call, "evseId"), "evseId")
    return list(samples_from(objects_at(call, "meterValue"), station_id, evse_id, None))


def on_transaction_event(
    station_id: str, tracker: TransactionTracker, call: JsonObject
) -> list[ModelEvent]:
    info = required(object_at(call, "transactionInfo"), "transactionInfo")
    transaction_id = required(text_at(info, "transactionId"), "transactionId")
    event_type = required(text_at(call, "eventType"), "eventType")
    if not tracker.first_time(transaction_id, required(integer_at(call, "seqNo"), "seqNo")):
        return []
    evse = object_at(call, "evse") or {}
    evse_id = _remember_evse(tracker, transaction_id, integer_at(evse, "id"))
    samples = samples_from(objects_at(call, "meterValue"), station_id, evse_id, transaction_id)
    timestamp = parse_timestamp(call.get("timestamp"))
    events: list[ModelEvent] = []
    if event_type == "Started":
        id_token = text_at(object_at(call, "idToken") or {}, "idToken") or None
        meter_start_wh = first_energy_wh(samples)
        events.append(
            SessionStarted(station_id, evse_id, transaction_id, id_token, meter_start_wh, timestamp)
        )
    events.extend(samples)
    state = lookup(CHARGING_STATE_201, info.get("chargingState"))
    if state is not None and evse_id is not None:
        connector_id = integer_at(evse, "connectorId")
        events.append(EvseStatusChanged(station_id, evse_id, connector_id, state, timestamp))
    if event_type == "Ended" and tracker.ended(transaction_id):
        reason = text_at(info, "stoppedReason") or "Local"
        meter_stop_wh = last_energy_wh(samples)
        events.append(
            SessionEnded(station_id, evse_id, transaction_id, reason, meter_stop_wh, timestamp)
        )
    return events


def _remember_evse(
    tracker: TransactionTracker, transaction_id: str, evse_id: int | None
) -> int | None:
    if evse_id is None:
        return tracker.evse_of(transaction_id)
    tracker.started(transaction_id, evse_id)
    return evse_id


def on_charging_needs(station_id: str, _: TransactionTracker, call: JsonObject) -> list[ModelEvent]:
    evse_id = required(integer_at(call, "evseId"), "evseId")
    needs = required(object_at(call, "chargingNeeds"), "chargingNeeds")
    transfer = text_at(needs, "requestedEnergyTransfer")
    ac = object_at(needs, "acChargingParameters") or {}
    dc = object_at(needs, "dcChargingParameters") or {}
    return [
        ChargingNeedsReported(
            station_id=station_id,
            evse_id=evse_id,
            energy_transfer=transfer,
            departure_time=parse_timestamp(needs.get("departureTime")),
            energy_amount_wh=number_at(ac if "energyAmount" in ac else dc, "energyAmount"),
            ac_max_current_a=number_at(ac, "evMaxCurrent"),
            ac_min_current_a=number_at(ac, "evMinCurrent"),
            ac_phases=PHASES_OF_TRANSFER.get(transfer or ""),
            dc_max_power_w=number_at(dc, "evMaxPower"),
            soc_percent=number_at(dc, "stateOfCharge"),
        )
    ]


def on_charging_limit(station_id: str, _: TransactionTracker, call: JsonObject) -> list[ModelEvent]:
    limit = required(object_at(call, "chargingLimit"), "chargingLimit")
    schedules = (
        schedule_from_json(item, "startSchedule") for item in objects_at(call, "chargingSchedule")
    )
    return [
        ChargingLimitReported(
            station_id,
            integer_at(call, "evseId"),
            text_at(limit, "chargingLimitSource"),
            bool_at(limit, "isGridCritical"),
            tuple(schedule for schedule in schedules if schedule is not None),
        )
    ]


ON_CALL_201: dict[str, CallHandler] = {
    "BootNotification": on_boot,
    "StatusNotification": on_status,
    "MeterValues": on_meter_values,
    "TransactionEvent": on_transaction_event,
    "NotifyEVChargingNeeds": on_charging_needs,
    "NotifyChargingLimit": on_charging_limit,
}
