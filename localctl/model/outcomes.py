"""Answers to the controller's own calls, read into typed outcomes.

Every raw status of either version maps to one normalised `OutcomeStatus`; the raw text is
kept beside it. A status no table knows is UNRECOGNISED, never taken for success. Per-key
results (configuration) come back per key, in the controller's key names.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import Enum

from localctl.model.commands import (
    Command,
    GetCompositeSchedule,
    GetConfiguration,
    RemoteStart,
    SetConfiguration,
    SetLimit,
)
from localctl.model.config_keys import VariableAddress, address_of_result, variable_for_key
from localctl.model.errors import NotExpressibleError
from localctl.model.events import ProfileAccepted, ProfileRejected
from localctl.model.payload import JsonObject, bool_at, object_at, objects_at, text_at
from localctl.model.schedules import ChargingSchedule, schedule_from_json
from localctl.model.timestamps import parse_timestamp
from localctl.relay.versions import OcppVersion


class OutcomeStatus(Enum):
    ACCEPTED = "Accepted"
    REJECTED = "Rejected"
    REBOOT_REQUIRED = "RebootRequired"
    NOT_SUPPORTED = "NotSupported"
    UNKNOWN = "Unknown"  # no such key, variable, component, connector or profile
    UNRECOGNISED = "Unrecognised"  # the answer could not be read


_STATUS = {
    "Accepted": OutcomeStatus.ACCEPTED,
    "Scheduled": OutcomeStatus.ACCEPTED,  # 2.0.1 Reset OnIdle: done once idle
    "Unlocked": OutcomeStatus.ACCEPTED,
    "Rejected": OutcomeStatus.REJECTED,
    "UnlockFailed": OutcomeStatus.REJECTED,
    "OngoingAuthorizedTransaction": OutcomeStatus.REJECTED,
    "RebootRequired": OutcomeStatus.REBOOT_REQUIRED,
    "NotSupported": OutcomeStatus.NOT_SUPPORTED,
    "NotImplemented": OutcomeStatus.NOT_SUPPORTED,
    "NotSupportedAttributeType": OutcomeStatus.NOT_SUPPORTED,
    "Unknown": OutcomeStatus.UNKNOWN,
    "UnknownComponent": OutcomeStatus.UNKNOWN,
    "UnknownVariable": OutcomeStatus.UNKNOWN,
    "UnknownConnector": OutcomeStatus.UNKNOWN,
}


def normalised_status(raw_status: str | None) -> OutcomeStatus:
    if raw_status is None:
        return OutcomeStatus.UNRECOGNISED
    return _STATUS.get(raw_status, OutcomeStatus.UNRECOGNISED)


@dataclass(frozen=True, slots=True)
class ParameterResult:
    key: str
    status: OutcomeStatus
    raw_status: str | None
    value: str | None = None
    read_only: bool | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    status: OutcomeStatus
    raw_status: str | None
    reason: str | None = None  # 2.0.1 statusInfo.reasonCode
    parameters: tuple[ParameterResult, ...] = ()
    schedule: ChargingSchedule | None = None
    transaction_id: str | None = None  # 2.0.1 RequestStartTransaction, when known


def interpret(command: Command, version: OcppVersion, result: JsonObject) -> Outcome:
    """What the station's CALLRESULT to `command` means. Never raises on a bad answer."""
    if not isinstance(result, dict):
        return Outcome(OutcomeStatus.UNRECOGNISED, None)
    if isinstance(command, GetConfiguration):
        return _configuration(command, version, result)
    if isinstance(command, SetConfiguration) and version is not OcppVersion.V16:
        return _set_variables(command, result)
    raw = text_at(result, "status")
    outcome = Outcome(normalised_status(raw), raw, _reason(result))
    if isinstance(command, GetCompositeSchedule):
        return _with_schedule(outcome, version, result)
    if isinstance(command, RemoteStart):
        return replace(outcome, transaction_id=text_at(result, "transactionId"))
    return outcome


def profile_event(
    station_id: str, command: SetLimit, outcome: Outcome
) -> ProfileAccepted | ProfileRejected:
    """The model event for the answer to a SetLimit."""
    profile = command.profile
    if outcome.status is OutcomeStatus.ACCEPTED:
        return ProfileAccepted(station_id, profile.profile_id, profile.evse_id)
    return ProfileRejected(
        station_id, profile.profile_id, profile.evse_id, outcome.raw_status, outcome.reason
    )


def profile_failure(station_id: str, command: SetLimit, error_code: str) -> ProfileRejected:
    """A SetLimit answered by a CALLERROR, or not at all (the relay's OwnCallFailed code)."""
    profile = command.profile
    return ProfileRejected(station_id, profile.profile_id, profile.evse_id, None, error_code)


def _reason(result: JsonObject) -> str | None:
    return text_at(object_at(result, "statusInfo") or {}, "reasonCode")


def _with_schedule(outcome: Outcome, version: OcppVersion, result: JsonObject) -> Outcome:
    if version is OcppVersion.V16:
        schedule = _composite_schedule_16(result)
    else:
        schedule_json = object_at(result, "schedule") or {}
        schedule = schedule_from_json(schedule_json, "scheduleStart")
    return replace(outcome, schedule=schedule)


def _composite_schedule_16(result: JsonObject) -> ChargingSchedule | None:
    # 1.6 puts the start beside the schedule (scheduleStart) or in it (startSchedule).
    schedule = schedule_from_json(object_at(result, "chargingSchedule") or {}, "startSchedule")
    if schedule is None or schedule.start is not None:
        return schedule
    return replace(schedule, start=parse_timestamp(result.get("scheduleStart")))


def _configuration(command: GetConfiguration, version: OcppVersion, result: JsonObject) -> Outcome:
    if version is OcppVersion.V16:
        parameters = _configuration_16(result)
    else:
        parameters = _variables_answered(command.keys, objects_at(result, "getVariableResult"))
    return _overall(parameters)


def _configuration_16(result: JsonObject) -> tuple[ParameterResult, ...]:
    known = [
        ParameterResult(
            key, OutcomeStatus.ACCEPTED, None, text_at(item, "value"), bool_at(item, "readonly")
        )
        for item in objects_at(result, "configurationKey")
        if (key := text_at(item, "key")) is not None
    ]
    unknown_keys = result.get("unknownKey")
    unknown = [
        ParameterResult(key, OutcomeStatus.UNKNOWN, None)
        for key in (unknown_keys if isinstance(unknown_keys, list) else [])
        if isinstance(key, str)
    ]
    return tuple(known + unknown)


def _set_variables(command: SetConfiguration, result: JsonObject) -> Outcome:
    return _overall(_variables_answered((command.key,), objects_at(result, "setVariableResult")))


def _variables_answered(
    keys: tuple[str, ...], items: list[JsonObject]
) -> tuple[ParameterResult, ...]:
    key_of = _keys_by_address(keys)
    results = []
    for item in items:
        address = address_of_result(item)
        key = None if address is None else key_of.get(address)
        if key is None:
            continue
        raw = text_at(item, "attributeStatus")
        results.append(
            ParameterResult(key, normalised_status(raw), raw, text_at(item, "attributeValue"))
        )
    return tuple(results)


def _keys_by_address(keys: tuple[str, ...]) -> dict[VariableAddress, str]:
    by_address = {}
    for key in keys:
        try:
            by_address[variable_for_key(key)] = key
        except NotExpressibleError:
            continue
    return by_address


def _overall(parameters: tuple[ParameterResult, ...]) -> Outcome:
    """Accepted when every parameter is; else the first parameter's status that is not."""
    if not parameters:
        return Outcome(OutcomeStatus.UNRECOGNISED, None)
    failed = next((p for p in parameters if p.status is not OutcomeStatus.ACCEPTED), None)
    status = OutcomeStatus.ACCEPTED if failed is None else failed.status
    return Outcome(status, None if failed is None else failed.raw_status, parameters=parameters)
