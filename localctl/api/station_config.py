"""Remote station configuration, sans I/O: the calls to send per OCPP version and what the
answers say, per parameter. No sockets, no clock: the asyncio shell is `remote.py`.

Keys are named as the controller names them (`localctl.model.config_keys`): a 1.6 key, or for
2.0.1 `Component.Variable` with optional `[instance]`s; the common ones translate both ways
(`MeterValueSampleInterval` <-> `SampledDataCtrlr.TxUpdatedInterval`).

Reading everything: 1.6 GetConfiguration without keys (1.6 5.8: every key the station has);
2.0.1 GetBaseReport(FullInventory), whose content arrives as NotifyReport calls to the CSMS
carrying the same requestId (B07.FR.03, B07.FR.04), numbered from seqNo 0 (B07.FR.10) and
ended by `tbc` false. Changing: 1.6 one ChangeConfiguration per key (1.6 5.3 carries one);
2.0.1 one SetVariables for all keys, with no two entries for one variable (B05.FR.13), and one
SetVariableResult per entry back (B05.FR.01, B05.FR.02).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from localctl.model.commands import GetConfiguration
from localctl.model.config_keys import (
    KEY_TO_VARIABLE_201,
    VariableAddress,
    address_of_result,
    variable_for_key,
)
from localctl.model.errors import NotExpressibleError
from localctl.model.outcomes import OutcomeStatus, interpret
from localctl.model.payload import (
    integer_at,
    object_at,
    objects_at,
    text_at,
)
from localctl.relay.versions import OcppVersion

JsonObject = dict[str, Any]

# Results the controller gives itself, besides the station's own statuses.
LOCKED = "LockedByCsms"
NOT_EXPRESSIBLE = "NotExpressible"
DUPLICATE = "Duplicate"
NO_ANSWER = "NotAnswered"


@dataclass(frozen=True, slots=True)
class ConfigEntry:
    """One configuration value as a station reported it."""

    key: str
    value: str | None
    read_only: bool | None
    evse_id: int | None = None
    data_type: str | None = None
    unit: str | None = None


@dataclass(frozen=True, slots=True)
class ParameterResult:
    """What became of one parameter: the station's status (Accepted, Rejected,
    RebootRequired, NotSupported, UnknownComponent, UnknownVariable, ...), a CALLERROR code,
    Timeout or NotConnected, or one of the controller's own refusals above."""

    key: str
    status: str
    value: str | None = None
    detail: str | None = None

    @property
    def accepted(self) -> bool:
        return self.status in ("Accepted", "RebootRequired")


@dataclass(frozen=True, slots=True)
class Call:
    action: str
    payload: JsonObject
    keys: tuple[str, ...]
    """the controller's keys this call carries, in payload order"""


@dataclass(frozen=True, slots=True)
class ChangePlan:
    calls: tuple[Call, ...]
    refused: tuple[ParameterResult, ...]
    """parameters not sent at all, with the reason"""
    addresses: Mapping[VariableAddress, str] = field(default_factory=dict)
    """2.0.1: which key each variable answers"""


# -- names -------------------------------------------------------------------------------------


def canonical(key: str) -> str:
    """One spelling per setting, to compare keys written either way."""
    try:
        address = variable_for_key(key)
    except NotExpressibleError:
        return key
    return _address_text(address)


def is_locked(key: str, locked: Iterable[str]) -> bool:
    name = canonical(key)
    return any(name == canonical(owned) for owned in locked)


def key_for_16(key: str) -> str:
    """The 1.6 key for a 2.0.1 address the table knows; any other key as it is."""
    name = canonical(key)
    return next((k for k, a in KEY_TO_VARIABLE_201.items() if _address_text(a) == name), key)


def _address_text(address: VariableAddress) -> str:
    component = address.component
    if address.component_instance is not None:
        component += f"[{address.component_instance}]"
    variable = address.variable
    if address.variable_instance is not None:
        variable += f"[{address.variable_instance}]"
    return f"{component}.{variable}"


# -- reading -----------------------------------------------------------------------------------


def read_all_call(version: OcppVersion, request_id: int) -> Call:
    if version is OcppVersion.V16:
        return Call("GetConfiguration", {}, ())
    return Call("GetBaseReport", {"requestId": request_id, "reportBase": "FullInventory"}, ())


def read_keys_calls(
    version: OcppVersion, keys: tuple[str, ...], max_items: int | None = None
) -> tuple[tuple[Call, ...], list[str]]:
    """The calls reading `keys` (2.0.1: at most `max_items` variables each, B06.FR.05), and
    the keys no call can carry (no 2.0.1 equivalent)."""
    if version is OcppVersion.V16:
        wanted = tuple(key_for_16(k) for k in keys)
        return (Call("GetConfiguration", {"key": list(wanted)}, wanted),), []
    sent: list[tuple[str, JsonObject]] = []
    unexpressible = []
    for key in keys:
        try:
            sent.append((key, variable_for_key(key).to_json()))
        except NotExpressibleError:
            unexpressible.append(key)
    return _calls("GetVariables", "getVariableData", sent, max_items), unexpressible


def items_per_message_call(action: str) -> Call:
    """2.0.1: how many entries one `action` (SetVariables, GetVariables) may carry."""
    key = f"DeviceDataCtrlr.ItemsPerMessage[{action}]"
    return Call("GetVariables", {"getVariableData": [variable_for_key(key).to_json()]}, (key,))


def items_per_message(payload: JsonObject) -> int | None:
    """The answer to `items_per_message_call`; None when the station did not say."""
    (result,) = get_variables_results(items_per_message_call("SetVariables").keys, payload)
    value = result.value.strip() if result.value else ""
    return int(value) if result.status == "Accepted" and value.isdigit() and int(value) else None


def _calls(
    action: str, field_name: str, entries: list[tuple[str, JsonObject]], max_items: int | None
) -> tuple[Call, ...]:
    """`entries` (key, entry) in calls of at most `max_items` entries (None: one call)."""
    step = max_items or len(entries) or 1
    parts = [entries[i : i + step] for i in range(0, len(entries), step)]
    return tuple(
        Call(action, {field_name: [entry for _, entry in part]}, tuple(key for key, _ in part))
        for part in parts
    )


def configuration_entries(payload: JsonObject) -> tuple[list[ConfigEntry], list[str]]:
    """1.6 GetConfiguration.conf: every known key with its value and readonly flag, and the
    keys the station does not know."""
    parameters = interpret(GetConfiguration(), OcppVersion.V16, payload).parameters
    known = [
        ConfigEntry(p.key, p.value, p.read_only)
        for p in parameters
        if p.status is OutcomeStatus.ACCEPTED
    ]
    return known, [p.key for p in parameters if p.status is OutcomeStatus.UNKNOWN]


def get_variables_results(keys: tuple[str, ...], payload: JsonObject) -> list[ParameterResult]:
    """2.0.1 GetVariablesResponse: per key its status and, when Accepted, its value (one
    result per requested variable: B06.FR.01, B06.FR.02)."""
    parameters = interpret(GetConfiguration(keys), OcppVersion.V201, payload).parameters
    answered = {p.key: p for p in parameters}
    return [
        ParameterResult(key, answered[key].raw_status or NO_ANSWER, answered[key].value)
        if key in answered
        else ParameterResult(key, NO_ANSWER, detail="the station left it out of its answer")
        for key in keys
    ]


def report_entries(payload: JsonObject) -> list[ConfigEntry]:
    """2.0.1 NotifyReportRequest: the Actual value of every variable it reports."""
    entries = []
    for item in objects_at(payload, "reportData"):
        address = address_of_result(item)
        if address is None:
            continue
        evse = object_at(object_at(item, "component") or {}, "evse") or {}
        actual = next(
            (
                a
                for a in objects_at(item, "variableAttribute")
                if text_at(a, "type") in (None, "Actual")
            ),
            {},
        )
        characteristics = object_at(item, "variableCharacteristics") or {}
        entries.append(
            ConfigEntry(
                _address_text(address),
                text_at(actual, "value"),
                _read_only(text_at(actual, "mutability")),
                integer_at(evse, "id"),
                text_at(characteristics, "dataType"),
                text_at(characteristics, "unit"),
            )
        )
    return entries


def _read_only(mutability: str | None) -> bool | None:
    return None if mutability is None else mutability == "ReadOnly"


class ReportAssembly:
    """The NotifyReport parts of one report, in seqNo order, complete once the part with
    `tbc` false has come and every seqNo before it too (B07.FR.10)."""

    def __init__(self) -> None:
        self._parts: dict[int, list[ConfigEntry]] = {}
        self._last_seq: int | None = None

    def add(self, payload: JsonObject) -> None:
        seq = integer_at(payload, "seqNo")
        if seq is None or seq < 0:
            return
        self._parts[seq] = report_entries(payload)
        if payload.get("tbc") is not True:  # tbc defaults to false
            self._last_seq = seq

    @property
    def complete(self) -> bool:
        return self._last_seq is not None and all(
            s in self._parts for s in range(self._last_seq + 1)
        )

    def entries(self) -> list[ConfigEntry]:
        return [entry for seq in sorted(self._parts) for entry in self._parts[seq]]


# -- changing ----------------------------------------------------------------------------------


def plan_change(
    version: OcppVersion,
    values: Mapping[str, str],
    locked: Iterable[str],
    max_items: int | None = None,
) -> ChangePlan:
    """The calls that set `values` on one station, and the parameters refused before sending:
    those the CSMS owns (configuration `api.csms_locked_parameters`), those the version cannot
    name, and a second key naming a variable already in the request. 2.0.1: at most
    `max_items` variables per SetVariables (the station's ItemsPerMessage, B05.FR.11)."""
    locked = tuple(locked)
    refused: list[ParameterResult] = []
    allowed: dict[str, str] = {}
    for key, value in values.items():
        if is_locked(key, locked):
            refused.append(ParameterResult(key, LOCKED, value, "owned by the CSMS"))
        else:
            allowed[key] = value
    if version is OcppVersion.V16:
        calls = tuple(
            Call("ChangeConfiguration", {"key": key_for_16(k), "value": v}, (k,))
            for k, v in allowed.items()
        )
        return ChangePlan(calls, tuple(refused))
    data: list[tuple[str, JsonObject]] = []
    addresses: dict[VariableAddress, str] = {}
    for key, value in allowed.items():
        try:
            address = variable_for_key(key)
        except NotExpressibleError as exc:
            refused.append(ParameterResult(key, NOT_EXPRESSIBLE, value, str(exc)))
            continue
        if address in addresses:  # B05.FR.13
            refused.append(ParameterResult(key, DUPLICATE, value, f"same as {addresses[address]}"))
            continue
        addresses[address] = key
        data.append((key, {**address.to_json(), "attributeValue": value}))
    calls = _calls("SetVariables", "setVariableData", data, max_items)
    return ChangePlan(calls, tuple(refused), addresses)


def change_results(
    plan: ChangePlan, call: Call, values: Mapping[str, str], payload: JsonObject
) -> list[ParameterResult]:
    """Per key of `call`, what the station answered."""
    if call.action == "ChangeConfiguration":
        key = call.keys[0]
        return [ParameterResult(key, text_at(payload, "status") or NO_ANSWER, values[key])]
    answered: dict[str, JsonObject] = {}
    for item in objects_at(payload, "setVariableResult"):
        address = address_of_result(item)
        if address is not None and address in plan.addresses:
            answered[plan.addresses[address]] = item
    return [
        ParameterResult(
            key,
            text_at(answered[key], "attributeStatus") or NO_ANSWER,
            values[key],
            _reason(answered[key]),
        )
        if key in answered
        else ParameterResult(key, NO_ANSWER, values[key], "the station left it out (B05.FR.01)")
        for key in call.keys
    ]


def failed_call(
    call: Call, values: Mapping[str, str], status: str, detail: str
) -> list[ParameterResult]:
    """Every key of a call that got no CALLRESULT (CALLERROR code, Timeout, NotConnected)."""
    return [ParameterResult(key, status, values.get(key), detail) for key in call.keys]


def _reason(item: JsonObject) -> str | None:
    return text_at(object_at(item, "attributeStatusInfo") or {}, "reasonCode")
