"""A station's configuration: 1.6 keys and 2.0.1 device-model variables.

Small, realistic defaults for what a smart-charging controller reads and writes. Writes
are checked the way stations do: read-only entries are rejected, integers must parse,
unknown names are reported as such.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass
class Setting:
    value: str
    read_only: bool = False
    data_type: str = "string"  # "integer", "decimal", "boolean", "string", "MemberList"

    def accepts(self, value: str) -> bool:
        parsers = {"integer": int, "decimal": float}
        parse = parsers.get(self.data_type)
        if parse is None:
            return self.data_type != "boolean" or value in ("true", "false")
        try:
            parse(value)
        except ValueError:
            return False
        return True


def _rw(value: str, data_type: str = "string") -> Setting:
    return Setting(value, read_only=False, data_type=data_type)


def _ro(value: str, data_type: str = "string") -> Setting:
    return Setting(value, read_only=True, data_type=data_type)


def default_keys16(connectors: int) -> dict[str, Setting]:
    return {
        "HeartbeatInterval": _rw("300", "integer"),
        "MeterValueSampleInterval": _rw("60", "integer"),
        "ClockAlignedDataInterval": _rw("0", "integer"),
        "MeterValuesSampledData": _rw("Energy.Active.Import.Register,Current.Import"),
        "ConnectionTimeOut": _rw("60", "integer"),
        "AuthorizeRemoteTxRequests": _rw("false", "boolean"),
        "LocalAuthorizeOffline": _rw("true", "boolean"),
        "StopTransactionOnEVSideDisconnect": _rw("true", "boolean"),
        "WebSocketPingInterval": _rw("30", "integer"),
        "NumberOfConnectors": _ro(str(connectors), "integer"),
        "SupportedFeatureProfiles": _ro("Core,SmartCharging,RemoteTrigger,FirmwareManagement"),
        "ChargeProfileMaxStackLevel": _ro("8", "integer"),
        "ChargingScheduleAllowedChargingRateUnit": _ro("Current,Power"),
        "ChargingScheduleMaxPeriods": _ro("24", "integer"),
        "MaxChargingProfilesInstalled": _ro("10", "integer"),
    }


class KeyStore16:
    """OCPP 1.6 configuration keys, as GetConfiguration and ChangeConfiguration see them."""

    def __init__(self, connectors: int, overrides: Mapping[str, str] | None = None) -> None:
        self._keys = default_keys16(connectors)
        for key, value in (overrides or {}).items():
            self._keys.setdefault(key, _rw(value)).value = value

    def value(self, key: str) -> str:
        return self._keys[key].value

    def get(self, keys: Iterable[str] | None) -> tuple[list[dict[str, Any]], list[str]]:
        """(configuration_key entries, unknown keys); all keys when `keys` is empty/None."""
        wanted = list(keys or self._keys)
        known = [self._entry(key) for key in wanted if key in self._keys]
        unknown = [key for key in wanted if key not in self._keys]
        return known, unknown

    def _entry(self, key: str) -> dict[str, Any]:
        setting = self._keys[key]
        return {"key": key, "readonly": setting.read_only, "value": setting.value}

    def change(self, key: str, value: str) -> str:
        """The ChangeConfiguration status: Accepted, Rejected or NotSupported."""
        setting = self._keys.get(key)
        if setting is None:
            return "NotSupported"
        if setting.read_only or not setting.accepts(value):
            return "Rejected"
        setting.value = value
        return "Accepted"


VariableName = tuple[str, str]  # (component name, variable name)


def default_variables201() -> dict[VariableName, Setting]:
    return {
        ("OCPPCommCtrlr", "HeartbeatInterval"): _rw("300", "integer"),
        ("AlignedDataCtrlr", "Interval"): _rw("0", "integer"),
        ("SampledDataCtrlr", "TxUpdatedInterval"): _rw("60", "integer"),
        ("SampledDataCtrlr", "TxUpdatedMeasurands"): _rw(
            "Energy.Active.Import.Register,Current.Import", "MemberList"
        ),
        ("TxCtrlr", "EVConnectionTimeOut"): _rw("60", "integer"),
        ("TxCtrlr", "TxStartPoint"): _rw("Authorized,EVConnected", "MemberList"),
        ("TxCtrlr", "TxStopPoint"): _rw("EVConnected,Authorized", "MemberList"),
        ("AuthCtrlr", "AuthorizeRemoteStart"): _rw("true", "boolean"),
        ("SmartChargingCtrlr", "Enabled"): _rw("true", "boolean"),
        ("SmartChargingCtrlr", "LimitChangeSignificance"): _rw("1.0", "decimal"),
        ("SmartChargingCtrlr", "RateUnit"): _ro("A,W", "MemberList"),
        ("SmartChargingCtrlr", "PeriodsPerSchedule"): _ro("24", "integer"),
        ("SmartChargingCtrlr", "ProfileStackLevel"): _ro("8", "integer"),
        ("SecurityCtrlr", "SecurityProfile"): _ro("1", "integer"),
    }


class VariableStore201:
    """OCPP 2.0.1 device-model variables (Actual attribute only, no EVSE-level instances)."""

    def __init__(self, overrides: Mapping[VariableName, str] | None = None) -> None:
        self._variables = default_variables201()
        for name, value in (overrides or {}).items():
            self._variables.setdefault(name, _rw(value)).value = value

    def value(self, component: str, variable: str) -> str:
        return self._variables[(component, variable)].value

    def get(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """One GetVariableResult for one GetVariableData entry (snake_case)."""
        status, setting = self._lookup(request)
        result = _echo(request, status)
        if setting is not None and status == "Accepted":
            result["attribute_value"] = setting.value
        return result

    def set(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """One SetVariableResult for one SetVariableData entry (snake_case)."""
        status, setting = self._lookup(request)
        value = str(request["attribute_value"])
        if setting is not None and status == "Accepted":
            if setting.read_only or not setting.accepts(value):
                status = "Rejected"
            else:
                setting.value = value
        return _echo(request, status)

    def _lookup(self, request: Mapping[str, Any]) -> tuple[str, Setting | None]:
        component = str(request["component"]["name"])
        variable = str(request["variable"]["name"])
        if request.get("attribute_type", "Actual") != "Actual":
            return "NotSupportedAttributeType", None
        if not any(name == component for name, _ in self._variables):
            return "UnknownComponent", None
        setting = self._variables.get((component, variable))
        return ("Accepted", setting) if setting else ("UnknownVariable", None)

    def report(self) -> list[dict[str, Any]]:
        """ReportData entries for a NotifyReport of the full base report."""
        return [_report_entry(name, setting) for name, setting in self._variables.items()]


def _echo(request: Mapping[str, Any], status: str) -> dict[str, Any]:
    return {
        "attribute_status": status,
        "attribute_type": request.get("attribute_type", "Actual"),
        "component": request["component"],
        "variable": request["variable"],
    }


def _report_entry(name: VariableName, setting: Setting) -> dict[str, Any]:
    component, variable = name
    mutability = "ReadOnly" if setting.read_only else "ReadWrite"
    return {
        "component": {"name": component},
        "variable": {"name": variable},
        "variable_attribute": [
            {"type": "Actual", "value": setting.value, "mutability": mutability}
        ],
        "variable_characteristics": {"data_type": setting.data_type, "supports_monitoring": False},
    }
