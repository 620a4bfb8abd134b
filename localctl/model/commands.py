"""Version-independent commands, and the (action, payload) each becomes per OCPP version.

`to_call(command, version)` gives the call to send; it raises `NotExpressibleError` when the
version cannot say it (a 2.0.1 transaction id to a 1.6 station, GetVariables without keys, a
profile the controller must not send). Encoders are a table by (command type, version).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

from localctl.model.clearing import ClearSpec
from localctl.model.config_keys import variable_for_key
from localctl.model.errors import NotExpressibleError
from localctl.model.payload import JsonObject
from localctl.model.profiles import (
    ProfilePurpose,
    ProfileSpec,
    profile_object_16,
    profile_object_201,
)
from localctl.model.schedules import RateUnit
from localctl.relay.versions import OcppVersion


@dataclass(frozen=True, slots=True)
class SetLimit:
    profile: ProfileSpec


@dataclass(frozen=True, slots=True)
class ClearLimit:
    target: ClearSpec


@dataclass(frozen=True, slots=True)
class GetCompositeSchedule:
    evse_id: int
    duration_s: int
    unit: RateUnit | None = None


@dataclass(frozen=True, slots=True)
class GetConfiguration:
    keys: tuple[str, ...] = ()  # empty: every key (1.6 only)


@dataclass(frozen=True, slots=True)
class SetConfiguration:
    key: str
    value: str


@dataclass(frozen=True, slots=True)
class RemoteStart:
    evse_id: int | None
    id_token: str
    remote_start_id: int = 0  # 2.0.1 only: echoed in the TransactionEvent it causes
    id_token_type: str = "Central"  # 2.0.1 IdTokenEnumType
    profile: ProfileSpec | None = None  # a TxProfile to apply to the new transaction


@dataclass(frozen=True, slots=True)
class RemoteStop:
    transaction_id: str


@dataclass(frozen=True, slots=True)
class Reset:
    hard: bool  # 1.6 Hard / 2.0.1 Immediate; else 1.6 Soft / 2.0.1 OnIdle


@dataclass(frozen=True, slots=True)
class Unlock:
    evse_id: int
    connector_id: int = 1  # 2.0.1 only; a 1.6 connector is the EVSE


class TriggerableMessage(Enum):
    BOOT_NOTIFICATION = "BootNotification"
    HEARTBEAT = "Heartbeat"
    METER_VALUES = "MeterValues"
    STATUS_NOTIFICATION = "StatusNotification"
    FIRMWARE_STATUS_NOTIFICATION = "FirmwareStatusNotification"
    TRANSACTION_EVENT = "TransactionEvent"  # 2.0.1 only


@dataclass(frozen=True, slots=True)
class TriggerMessage:
    message: TriggerableMessage
    evse_id: int | None = None


Command = (
    SetLimit
    | ClearLimit
    | GetCompositeSchedule
    | GetConfiguration
    | SetConfiguration
    | RemoteStart
    | RemoteStop
    | Reset
    | Unlock
    | TriggerMessage
)


def to_call(command: Command, version: OcppVersion) -> tuple[str, JsonObject]:
    """The action and payload that carry `command` to a station speaking `version`."""
    v16 = version is OcppVersion.V16
    if version is OcppVersion.V21:
        raise NotExpressibleError("commands are encoded for 1.6 and 2.0.1 only")
    encode = _ENCODERS[type(command)]
    action_16, action_201 = _ACTIONS[type(command)]
    return (action_16 if v16 else action_201), encode(command, v16)


def _set_limit(command: SetLimit, v16: bool) -> JsonObject:
    return command.profile.to_payload(OcppVersion.V16 if v16 else OcppVersion.V201)


def _clear_limit(command: ClearLimit, v16: bool) -> JsonObject:
    return command.target.to_payload(OcppVersion.V16 if v16 else OcppVersion.V201)


def _composite(command: GetCompositeSchedule, v16: bool) -> JsonObject:
    unit = {} if command.unit is None else {"chargingRateUnit": command.unit.value}
    target = "connectorId" if v16 else "evseId"
    return {target: command.evse_id, "duration": command.duration_s, **unit}


def _get_configuration(command: GetConfiguration, v16: bool) -> JsonObject:
    if v16:
        return {"key": list(command.keys)} if command.keys else {}
    if not command.keys:
        raise NotExpressibleError("GetVariables needs at least one variable")
    return {"getVariableData": [variable_for_key(key).to_json() for key in command.keys]}


def _set_configuration(command: SetConfiguration, v16: bool) -> JsonObject:
    if v16:
        return {"key": command.key, "value": command.value}
    data = {**variable_for_key(command.key).to_json(), "attributeValue": command.value}
    return {"setVariableData": [data]}


def _remote_start(command: RemoteStart, v16: bool) -> JsonObject:
    profile = command.profile
    if profile is not None and (
        profile.purpose is not ProfilePurpose.TX or profile.transaction_id is not None
    ):
        # 1.6 section 5.11, 2.0.1 F01.FR.09: a TxProfile, for a transaction not yet known.
        raise NotExpressibleError("a remote start carries a TxProfile without transaction id")
    if v16:
        return {
            **({} if command.evse_id is None else {"connectorId": command.evse_id}),
            "idTag": command.id_token,
            **({} if profile is None else {"chargingProfile": profile_object_16(profile)}),
        }
    return {
        **({} if command.evse_id is None else {"evseId": command.evse_id}),
        "idToken": {"idToken": command.id_token, "type": command.id_token_type},
        "remoteStartId": command.remote_start_id,
        **({} if profile is None else {"chargingProfile": profile_object_201(profile)}),
    }


def _remote_stop(command: RemoteStop, v16: bool) -> JsonObject:
    if not v16:
        return {"transactionId": command.transaction_id}
    try:
        return {"transactionId": int(command.transaction_id)}
    except ValueError:
        message = f"1.6 transaction ids are integers: {command.transaction_id!r}"
        raise NotExpressibleError(message) from None


def _reset(command: Reset, v16: bool) -> JsonObject:
    if v16:
        return {"type": "Hard" if command.hard else "Soft"}
    return {"type": "Immediate" if command.hard else "OnIdle"}


def _unlock(command: Unlock, v16: bool) -> JsonObject:
    if v16:
        return {"connectorId": command.evse_id}
    return {"evseId": command.evse_id, "connectorId": command.connector_id}


def _trigger(command: TriggerMessage, v16: bool) -> JsonObject:
    name = command.message.value
    if v16 and command.message is TriggerableMessage.TRANSACTION_EVENT:
        raise NotExpressibleError("1.6 has no TransactionEvent to trigger")
    if command.evse_id is None:
        return {"requestedMessage": name}
    where = {"connectorId": command.evse_id} if v16 else {"evse": {"id": command.evse_id}}
    return {"requestedMessage": name, **where}


_ENCODERS: dict[type[Any], Callable[[Any, bool], JsonObject]] = {
    SetLimit: _set_limit,
    ClearLimit: _clear_limit,
    GetCompositeSchedule: _composite,
    GetConfiguration: _get_configuration,
    SetConfiguration: _set_configuration,
    RemoteStart: _remote_start,
    RemoteStop: _remote_stop,
    Reset: _reset,
    Unlock: _unlock,
    TriggerMessage: _trigger,
}
_ACTIONS: dict[type[Any], tuple[str, str]] = {
    SetLimit: ("SetChargingProfile", "SetChargingProfile"),
    ClearLimit: ("ClearChargingProfile", "ClearChargingProfile"),
    GetCompositeSchedule: ("GetCompositeSchedule", "GetCompositeSchedule"),
    GetConfiguration: ("GetConfiguration", "GetVariables"),
    SetConfiguration: ("ChangeConfiguration", "SetVariables"),
    RemoteStart: ("RemoteStartTransaction", "RequestStartTransaction"),
    RemoteStop: ("RemoteStopTransaction", "RequestStopTransaction"),
    Reset: ("Reset", "Reset"),
    Unlock: ("UnlockConnector", "UnlockConnector"),
    TriggerMessage: ("TriggerMessage", "TriggerMessage"),
}
