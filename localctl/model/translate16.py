"""OCPP 1.6 station frames to model events, as tables of handlers by action.

A 1.6 connector is a 2.0.1 EVSE: `connectorId` becomes `evse_id` (and `connector_id`);
connector 0 is the whole station (1.6 section 6.47 StatusNotification, 6.31 MeterValues).
The transaction id of StartTransaction arrives only in the CSMS's answer, so its session
starts when the result is seen (1.6 section 6.46). A StopTransaction without a reason means
Local (1.6 section 6.49). Meter values inside StopTransaction's transactionData are samples
like any others.
"""

from __future__ import annotations

from collections.abc import Callable

from localctl.model.events import (
    EvseStatus,
    EvseStatusChanged,
    ModelEvent,
    SessionEnded,
    SessionStarted,
    StationBooted,
)
from localctl.model.meter import samples_from
from localctl.model.payload import (
    JsonObject,
    integer_at,
    lookup,
    number_at,
    objects_at,
    required,
    text_at,
)
from localctl.model.timestamps import parse_timestamp
from localctl.model.tracking import TransactionTracker

CallHandler = Callable[[str, TransactionTracker, JsonObject], list[ModelEvent]]
ResultHandler = Callable[[str, TransactionTracker, JsonObject, JsonObject], list[ModelEvent]]

STATUS_16 = {
    "Available": EvseStatus.AVAILABLE,
    "Preparing": EvseStatus.OCCUPIED,
    "Charging": EvseStatus.CHARGING,
    "SuspendedEV": EvseStatus.SUSPENDED_EV,
    "SuspendedEVSE": EvseStatus.SUSPENDED_EVSE,
    "Finishing": EvseStatus.OCCUPIED,
    "Reserved": EvseStatus.RESERVED,
    "Unavailable": EvseStatus.UNAVAILABLE,
    "Faulted": EvseStatus.FAULTED,
}


def on_boot(station_id: str, _: TransactionTracker, call: JsonObject) -> list[ModelEvent]:
    vendor, model = text_at(call, "chargePointVendor"), text_at(call, "chargePointModel")
    return [StationBooted(station_id, vendor, model, text_at(call, "firmwareVersion"))]


def on_status(station_id: str, _: TransactionTracker, call: JsonObject) -> list[ModelEvent]:
    connector_id = required(integer_at(call, "connectorId"), "connectorId")
    status = required(lookup(STATUS_16, call.get("status")), "status")
    error_code = text_at(call, "errorCode")
    return [
        EvseStatusChanged(
            station_id,
            connector_id,
            connector_id,
            status,
            parse_timestamp(call.get("timestamp")),
            None if error_code == "NoError" else error_code,
        )
    ]


def on_start_result(
    station_id: str, tracker: TransactionTracker, call: JsonObject, result: JsonObject
) -> list[ModelEvent]:
    connector_id = required(integer_at(call, "connectorId"), "connectorId")
    transaction_id = str(required(integer_at(result, "transactionId"), "transactionId"))
    tracker.started(transaction_id, connector_id)
    return [
        SessionStarted(
            station_id,
            connector_id,
            transaction_id,
            text_at(call, "idTag"),
            number_at(call, "meterStart"),
            parse_timestamp(call.get("timestamp")),
        )
    ]


def on_stop(station_id: str, tracker: TransactionTracker, call: JsonObject) -> list[ModelEvent]:
    transaction_id = str(required(integer_at(call, "transactionId"), "transactionId"))
    evse_id = tracker.evse_of(transaction_id)
    if not tracker.ended(transaction_id):
        return []
    samples = objects_at(call, "transactionData")
    ended = SessionEnded(
        station_id,
        evse_id,
        transaction_id,
        text_at(call, "reason") or "Local",
        number_at(call, "meterStop"),
        parse_timestamp(call.get("timestamp")),
    )
    return [*samples_from(samples, station_id, evse_id, transaction_id), ended]


def on_meter_values(station_id: str, _: TransactionTracker, call: JsonObject) -> list[ModelEvent]:
    connector_id = required(integer_at(call, "connectorId"), "connectorId")
    transaction = integer_at(call, "transactionId")
    transaction_id = None if transaction is None else str(transaction)
    meter_values = objects_at(call, "meterValue")
    return list(samples_from(meter_values, station_id, connector_id, transaction_id))


ON_CALL_16: dict[str, CallHandler] = {
    "BootNotification": on_boot,
    "StatusNotification": on_status,
    "StopTransaction": on_stop,
    "MeterValues": on_meter_values,
}
ON_RESULT_16: dict[str, ResultHandler] = {
    "StartTransaction": on_start_result,
}
