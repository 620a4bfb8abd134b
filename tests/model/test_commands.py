from __future__ import annotations

from datetime import UTC, datetime

import pytest

from localctl.model.clearing import ClearSpec
from localctl.model.commands import (
    ClearLimit,
    Command,
    GetCompositeSchedule,
    GetConfiguration,
    RemoteStart,
    RemoteStop,
    Reset,
    SetConfiguration,
    SetLimit,
    TriggerableMessage,
    TriggerMessage,
    Unlock,
    to_call,
)
from localctl.model.errors import NotExpressibleError
from localctl.model.profiles import ProfileKind, ProfilePurpose, ProfileSpec
from localctl.model.schedules import RateUnit, SchedulePeriod
from localctl.relay.schemas import SchemaRegistry
from localctl.relay.versions import OcppVersion

V16, V201 = OcppVersion.V16, OcppVersion.V201
LEASE = ProfileSpec(
    9,
    ProfilePurpose.TX_DEFAULT,
    1,
    2,
    ProfileKind.ABSOLUTE,
    RateUnit.AMPERE,
    (SchedulePeriod(0, 13.0),),
    schedule_start=datetime(2026, 3, 1, tzinfo=UTC),
    duration_s=120,
)
START_PROFILE = ProfileSpec(
    3, ProfilePurpose.TX, 0, 1, ProfileKind.RELATIVE, RateUnit.AMPERE, (SchedulePeriod(0, 6.0),)
)
EVERY_COMMAND: list[Command] = [
    SetLimit(LEASE),
    ClearLimit(ClearSpec(profile_id=9)),
    ClearLimit(ClearSpec(evse_id=2, purpose=ProfilePurpose.TX_DEFAULT, stack_level=1)),
    ClearLimit(ClearSpec()),
    GetCompositeSchedule(1, 3600, RateUnit.AMPERE),
    GetCompositeSchedule(0, 600),
    GetConfiguration(("MeterValueSampleInterval", "HeartbeatInterval")),
    SetConfiguration("MeterValuesSampledData", "Current.Import,Power.Active.Import"),
    RemoteStart(1, "04A2B3C4", remote_start_id=77, profile=START_PROFILE),
    RemoteStart(None, "04A2B3C4"),
    RemoteStop("4711"),
    Reset(hard=True),
    Reset(hard=False),
    Unlock(2, 1),
    TriggerMessage(TriggerableMessage.STATUS_NOTIFICATION, 1),
    TriggerMessage(TriggerableMessage.HEARTBEAT),
]


@pytest.mark.parametrize("command", EVERY_COMMAND, ids=lambda c: type(c).__name__)
@pytest.mark.parametrize("version", [V16, V201], ids=["1.6", "2.0.1"])
def test_every_command_is_a_schema_valid_call(
    command: Command, version: OcppVersion, schemas: SchemaRegistry
) -> None:
    action, payload = to_call(command, version)
    assert schemas.validate(version, action, payload, is_response=False) is None


def test_actions_differ_by_version_where_the_messages_do() -> None:
    assert to_call(RemoteStop("1"), V16)[0] == "RemoteStopTransaction"
    assert to_call(RemoteStop("1"), V201)[0] == "RequestStopTransaction"
    assert to_call(GetConfiguration(("HeartbeatInterval",)), V201)[0] == "GetVariables"
    assert to_call(SetConfiguration("HeartbeatInterval", "300"), V16)[0] == "ChangeConfiguration"


def test_configuration_keys_become_component_variables_in_2_0_1() -> None:
    _, payload = to_call(SetConfiguration("MeterValueSampleInterval", "10"), V201)
    assert payload == {
        "setVariableData": [
            {
                "component": {"name": "SampledDataCtrlr"},
                "variable": {"name": "TxUpdatedInterval"},
                "attributeValue": "10",
            }
        ]
    }
    _, payload = to_call(GetConfiguration(("SmartChargingCtrlr.Entries[ChargingProfiles]",)), V201)
    assert payload["getVariableData"][0]["variable"] == {
        "name": "Entries",
        "instance": "ChargingProfiles",
    }


def test_reset_and_unlock_per_version() -> None:
    assert to_call(Reset(hard=True), V16)[1] == {"type": "Hard"}
    assert to_call(Reset(hard=False), V201)[1] == {"type": "OnIdle"}
    assert to_call(Unlock(3, 2), V16)[1] == {"connectorId": 3}
    assert to_call(Unlock(3, 2), V201)[1] == {"evseId": 3, "connectorId": 2}


@pytest.mark.parametrize(
    ("command", "version"),
    [
        (RemoteStop("f3b1-uuid"), V16),
        (GetConfiguration(()), V201),
        (SetConfiguration("VendorSpecificKey", "1"), V201),
        (TriggerMessage(TriggerableMessage.TRANSACTION_EVENT), V16),
        (RemoteStart(1, "A", profile=LEASE), V201),
        (ClearLimit(ClearSpec(purpose=ProfilePurpose.EXTERNAL_CONSTRAINTS)), V201),
        (SetLimit(LEASE), OcppVersion.V21),
    ],
)
def test_what_a_version_cannot_say_is_refused(command: Command, version: OcppVersion) -> None:
    with pytest.raises(NotExpressibleError):
        to_call(command, version)
