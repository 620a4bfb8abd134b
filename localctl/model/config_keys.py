"""1.6 configuration keys and 2.0.1 component variables, one name space for the controller.

The controller names a setting by its 1.6 key. For a 2.0.1 station the key goes through the
table below (part 2, section 2 "Referenced Components and Variables"); anything not in the
table is written `Component.Variable`, optionally with instances as
`Component[instance].Variable[instance]`, and passed through as such. For a 1.6 station the
key is sent as it is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from localctl.model.errors import NotExpressibleError
from localctl.model.payload import JsonObject, object_at, text_at


@dataclass(frozen=True, slots=True)
class VariableAddress:
    component: str
    variable: str
    component_instance: str | None = None
    variable_instance: str | None = None

    def to_json(self) -> JsonObject:
        component: JsonObject = {"name": self.component}
        variable: JsonObject = {"name": self.variable}
        if self.component_instance is not None:
            component["instance"] = self.component_instance
        if self.variable_instance is not None:
            variable["instance"] = self.variable_instance
        return {"component": component, "variable": variable}


def _address(text: str) -> VariableAddress:
    component, _, variable = text.partition(".")
    instance = None
    if "[" in variable:
        variable, instance = variable.rstrip("]").split("[")
    return VariableAddress(component, variable, None, instance)


KEY_TO_VARIABLE_201: dict[str, VariableAddress] = {
    key: _address(address)
    for key, address in {
        "HeartbeatInterval": "OCPPCommCtrlr.HeartbeatInterval",
        "WebSocketPingInterval": "OCPPCommCtrlr.WebSocketPingInterval",
        "ResetRetries": "OCPPCommCtrlr.ResetRetries",
        "TransactionMessageAttempts": "OCPPCommCtrlr.MessageAttempts[TransactionEvent]",
        "TransactionMessageRetryInterval": "OCPPCommCtrlr.MessageAttemptInterval[TransactionEvent]",
        "MeterValueSampleInterval": "SampledDataCtrlr.TxUpdatedInterval",
        "MeterValuesSampledData": "SampledDataCtrlr.TxUpdatedMeasurands",
        "StopTxnSampledData": "SampledDataCtrlr.TxEndedMeasurands",
        "ClockAlignedDataInterval": "AlignedDataCtrlr.Interval",
        "MeterValuesAlignedData": "AlignedDataCtrlr.Measurands",
        "StopTxnAlignedData": "AlignedDataCtrlr.TxEndedMeasurands",
        "ConnectionTimeOut": "TxCtrlr.EVConnectionTimeOut",
        "StopTransactionOnEVSideDisconnect": "TxCtrlr.StopTxOnEVSideDisconnect",
        "StopTransactionOnInvalidId": "TxCtrlr.StopTxOnInvalidId",
        "AuthorizeRemoteTxRequests": "AuthCtrlr.AuthorizeRemoteStart",
        "LocalAuthorizeOffline": "AuthCtrlr.LocalAuthorizeOffline",
        "LocalPreAuthorize": "AuthCtrlr.LocalPreAuthorize",
        "ChargeProfileMaxStackLevel": "SmartChargingCtrlr.ProfileStackLevel",
        "ChargingScheduleAllowedChargingRateUnit": "SmartChargingCtrlr.RateUnit",
        "ChargingScheduleMaxPeriods": "SmartChargingCtrlr.PeriodsPerSchedule",
        "MaxChargingProfilesInstalled": "SmartChargingCtrlr.Entries[ChargingProfiles]",
    }.items()
}

_EXPLICIT = re.compile(r"^(\w+)(?:\[([\w.-]+)\])?\.(\w+)(?:\[([\w.-]+)\])?$")


def variable_for_key(key: str) -> VariableAddress:
    """The 2.0.1 component variable a controller key names (table, then explicit syntax)."""
    known = KEY_TO_VARIABLE_201.get(key)
    if known is not None:
        return known
    match = _EXPLICIT.match(key)
    if match is None:
        raise NotExpressibleError(
            f"{key!r} has no 2.0.1 equivalent; write it as Component.Variable"
        )
    component, component_instance, variable, variable_instance = match.groups()
    return VariableAddress(component, variable, component_instance, variable_instance)


def address_of_result(item: JsonObject) -> VariableAddress | None:
    """The address a GetVariableResult or SetVariableResult answers, when readable."""
    component, variable = object_at(item, "component"), object_at(item, "variable")
    if component is None or variable is None:
        return None
    component_name, variable_name = text_at(component, "name"), text_at(variable, "name")
    if component_name is None or variable_name is None:
        return None
    return VariableAddress(
        component_name,
        variable_name,
        text_at(component, "instance"),
        text_at(variable, "instance"),
    )
