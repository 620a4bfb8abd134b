from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from localctl.model.clearing import ClearSpec
from localctl.model.commands import (
    ClearLimit,
    Command,
    GetCompositeSchedule,
    GetConfiguration,
    RemoteStart,
    Reset,
    SetConfiguration,
    SetLimit,
    Unlock,
)
from localctl.model.events import ProfileAccepted, ProfileRejected
from localctl.model.outcomes import (
    Outcome,
    OutcomeStatus,
    ParameterResult,
    interpret,
    profile_event,
    profile_failure,
)
from localctl.model.profiles import ProfileKind, ProfilePurpose, ProfileSpec
from localctl.model.schedules import ChargingSchedule, RateUnit, SchedulePeriod
from localctl.relay.versions import OcppVersion
from tests.model.fuzzing import PAYLOADS

V16, V201 = OcppVersion.V16, OcppVersion.V201
LEASE = SetLimit(
    ProfileSpec(
        9,
        ProfilePurpose.TX_DEFAULT,
        1,
        2,
        ProfileKind.RELATIVE,
        RateUnit.AMPERE,
        (SchedulePeriod(0, 13.0),),
    )
)


def test_profile_answers_become_profile_events() -> None:
    accepted = interpret(LEASE, V16, {"status": "Accepted"})
    assert profile_event("cp1", LEASE, accepted) == ProfileAccepted("cp1", 9, 2)
    rejected = interpret(
        LEASE, V201, {"status": "Rejected", "statusInfo": {"reasonCode": "DuplicateProfile"}}
    )
    assert profile_event("cp1", LEASE, rejected) == ProfileRejected(
        "cp1", 9, 2, "Rejected", "DuplicateProfile"
    )
    assert profile_failure("cp1", LEASE, "Timeout") == ProfileRejected("cp1", 9, 2, None, "Timeout")


def test_unknown_or_missing_status_is_never_success() -> None:
    assert interpret(LEASE, V16, {"status": "Maybe"}).status is OutcomeStatus.UNRECOGNISED
    assert interpret(LEASE, V16, {}).status is OutcomeStatus.UNRECOGNISED
    event = profile_event("cp1", LEASE, interpret(LEASE, V16, {"status": ["Accepted"]}))
    assert isinstance(event, ProfileRejected)


def test_statuses_of_both_versions_are_normalised() -> None:
    assert (
        interpret(Reset(hard=False), V201, {"status": "Scheduled"}).status is OutcomeStatus.ACCEPTED
    )
    assert interpret(Unlock(1), V16, {"status": "Unlocked"}).status is OutcomeStatus.ACCEPTED
    unknown = interpret(Unlock(1), V201, {"status": "UnknownConnector"})
    assert (unknown.status, unknown.raw_status) == (OutcomeStatus.UNKNOWN, "UnknownConnector")
    cleared = interpret(ClearLimit(ClearSpec(profile_id=1)), V16, {"status": "Unknown"})
    assert cleared.status is OutcomeStatus.UNKNOWN


def test_1_6_configuration_answers_per_key() -> None:
    command = GetConfiguration(("HeartbeatInterval", "NoSuchKey"))
    result = {
        "configurationKey": [{"key": "HeartbeatInterval", "readonly": False, "value": "300"}],
        "unknownKey": ["NoSuchKey"],
    }
    outcome = interpret(command, V16, result)
    assert outcome.parameters == (
        ParameterResult("HeartbeatInterval", OutcomeStatus.ACCEPTED, None, "300", False),
        ParameterResult("NoSuchKey", OutcomeStatus.UNKNOWN, None),
    )
    assert outcome.status is OutcomeStatus.UNKNOWN


def test_2_0_1_variable_answers_come_back_under_the_1_6_key() -> None:
    command = GetConfiguration(("MeterValueSampleInterval", "Vendor.Thing"))
    result = {
        "getVariableResult": [
            {
                "attributeStatus": "Accepted",
                "attributeValue": "60",
                "component": {"name": "SampledDataCtrlr"},
                "variable": {"name": "TxUpdatedInterval"},
            },
            {
                "attributeStatus": "UnknownComponent",
                "component": {"name": "Vendor"},
                "variable": {"name": "Thing"},
            },
        ]
    }
    outcome = interpret(command, V201, result)
    assert outcome.parameters == (
        ParameterResult("MeterValueSampleInterval", OutcomeStatus.ACCEPTED, "Accepted", "60"),
        ParameterResult("Vendor.Thing", OutcomeStatus.UNKNOWN, "UnknownComponent"),
    )


def test_set_variables_reboot_required() -> None:
    command = SetConfiguration("HeartbeatInterval", "60")
    result = {
        "setVariableResult": [
            {
                "attributeStatus": "RebootRequired",
                "component": {"name": "OCPPCommCtrlr"},
                "variable": {"name": "HeartbeatInterval"},
            }
        ]
    }
    outcome = interpret(command, V201, result)
    assert (outcome.status, outcome.raw_status) == (OutcomeStatus.REBOOT_REQUIRED, "RebootRequired")
    assert interpret(command, V16, {"status": "NotSupported"}).status is OutcomeStatus.NOT_SUPPORTED


def test_composite_schedules_of_both_versions() -> None:
    start = datetime(2026, 3, 1, 10, tzinfo=UTC)
    expected = ChargingSchedule(RateUnit.AMPERE, (SchedulePeriod(0, 16.0, 3),), start, 3600)
    result_16 = {
        "status": "Accepted",
        "connectorId": 1,
        "scheduleStart": "2026-03-01T10:00:00Z",
        "chargingSchedule": {
            "duration": 3600,
            "chargingRateUnit": "A",
            "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16.0, "numberPhases": 3}],
        },
    }
    result_201 = {
        "status": "Accepted",
        "schedule": {
            "evseId": 1,
            "duration": 3600,
            "scheduleStart": "2026-03-01T10:00:00Z",
            "chargingRateUnit": "A",
            "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16.0, "numberPhases": 3}],
        },
    }
    command = GetCompositeSchedule(1, 3600)
    assert interpret(command, V16, result_16).schedule == expected
    assert interpret(command, V201, result_201).schedule == expected
    assert interpret(command, V201, {"status": "Rejected"}) == Outcome(
        OutcomeStatus.REJECTED, "Rejected"
    )


def test_remote_start_may_tell_the_transaction_id() -> None:
    outcome = interpret(RemoteStart(1, "A"), V201, {"status": "Accepted", "transactionId": "t-9"})
    assert outcome.transaction_id == "t-9"


COMMANDS = [
    LEASE,
    GetCompositeSchedule(1, 60),
    GetConfiguration(("HeartbeatInterval",)),
    GetConfiguration(()),
    SetConfiguration("HeartbeatInterval", "1"),
    RemoteStart(1, "A"),
    Reset(hard=True),
    Unlock(1),
]


@settings(max_examples=200)
@given(st.sampled_from(COMMANDS), st.sampled_from([V16, V201]), PAYLOADS)
def test_interpret_never_raises_on_any_answer(
    command: Command, version: OcppVersion, result: dict[str, object]
) -> None:
    assert isinstance(interpret(command, version, result), Outcome)
