"""The sans-I/O core of remote configuration: calls per version, answers per parameter."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from localctl.api import station_config as sc
from localctl.relay.versions import OcppVersion

V16, V201 = OcppVersion.V16, OcppVersion.V201
TX_INTERVAL = {"component": {"name": "SampledDataCtrlr"}, "variable": {"name": "TxUpdatedInterval"}}


def test_keys_compare_across_their_two_spellings() -> None:
    assert sc.canonical("MeterValueSampleInterval") == "SampledDataCtrlr.TxUpdatedInterval"
    assert sc.is_locked("SampledDataCtrlr.TxUpdatedInterval", ["MeterValueSampleInterval"])
    assert not sc.is_locked("HeartbeatInterval", ["MeterValueSampleInterval"])
    assert sc.key_for_16("SampledDataCtrlr.TxUpdatedInterval") == "MeterValueSampleInterval"
    assert sc.key_for_16("VendorKey") == "VendorKey"


def test_reading_everything_is_get_configuration_or_a_full_base_report() -> None:
    assert sc.read_all_call(V16, 7) == sc.Call("GetConfiguration", {}, ())
    call = sc.read_all_call(V201, 7)
    assert (call.action, call.payload) == (
        "GetBaseReport",
        {"requestId": 7, "reportBase": "FullInventory"},
    )


def test_a_1_6_change_is_one_change_configuration_per_key_in_1_6_names() -> None:
    plan = sc.plan_change(
        V16, {"SampledDataCtrlr.TxUpdatedInterval": "30", "HeartbeatInterval": "60"}, ()
    )
    assert [c.payload for c in plan.calls] == [
        {"key": "MeterValueSampleInterval", "value": "30"},
        {"key": "HeartbeatInterval", "value": "60"},
    ]
    results = sc.change_results(
        plan, plan.calls[0], {plan.calls[0].keys[0]: "30"}, {"status": "RebootRequired"}
    )
    assert results == [
        sc.ParameterResult("SampledDataCtrlr.TxUpdatedInterval", "RebootRequired", "30")
    ]
    assert results[0].accepted


def test_a_2_0_1_change_is_one_set_variables_and_reads_each_result() -> None:
    values = {
        "MeterValueSampleInterval": "15",
        "Foo.Bar": "1",
        "MeterValuesSampledData": "Current.Import",
    }
    plan = sc.plan_change(V201, values, ())
    (call,) = plan.calls
    assert call.action == "SetVariables"
    assert call.payload["setVariableData"][0] == {**TX_INTERVAL, "attributeValue": "15"}
    answer = {
        "setVariableResult": [
            {**TX_INTERVAL, "attributeStatus": "Accepted"},
            {
                "component": {"name": "Foo"},
                "variable": {"name": "Bar"},
                "attributeStatus": "UnknownComponent",
                "attributeStatusInfo": {"reasonCode": "NoSuchThing"},
            },
        ]
    }
    results = {r.key: r for r in sc.change_results(plan, call, values, answer)}
    assert results["MeterValueSampleInterval"].status == "Accepted"
    assert (results["Foo.Bar"].status, results["Foo.Bar"].detail) == (
        "UnknownComponent",
        "NoSuchThing",
    )
    # B05.FR.01 says one result per entry; a station that leaves one out is reported as such
    assert results["MeterValuesSampledData"].status == sc.NO_ANSWER


def test_locked_unnameable_and_duplicate_keys_are_refused_before_sending() -> None:
    values = {
        "HeartbeatInterval": "10",
        "MeterValueSampleInterval": "10",
        "SampledDataCtrlr.TxUpdatedInterval": "20",
        "no spaces allowed": "1",
    }
    plan = sc.plan_change(V201, values, ("OCPPCommCtrlr.HeartbeatInterval",))
    refused = {r.key: r.status for r in plan.refused}
    assert refused == {
        "HeartbeatInterval": sc.LOCKED,
        "SampledDataCtrlr.TxUpdatedInterval": sc.DUPLICATE,  # B05.FR.13
        "no spaces allowed": sc.NOT_EXPRESSIBLE,
    }
    assert plan.calls[0].keys == ("MeterValueSampleInterval",)
    assert sc.plan_change(V201, {"HeartbeatInterval": "1"}, ["HeartbeatInterval"]).calls == ()


def test_no_call_carries_more_variables_than_the_station_takes() -> None:
    values = {f"Vendor.Setting{i}": str(i) for i in range(5)}
    plan = sc.plan_change(V201, values, (), max_items=2)  # B05.FR.11
    assert [len(c.payload["setVariableData"]) for c in plan.calls] == [2, 2, 1]
    assert [k for c in plan.calls for k in c.keys] == list(values)
    calls, _ = sc.read_keys_calls(V201, tuple(values), max_items=3)  # B06.FR.05
    assert [c.keys for c in calls] == [tuple(values)[:3], tuple(values)[3:]]
    assert len(sc.plan_change(V201, values, ()).calls) == 1  # not known: one call


@pytest.mark.parametrize(
    ("status", "value", "limit"),
    [("Accepted", "4", 4), ("Accepted", " 4 ", 4), ("Accepted", "0", None),
     ("Accepted", "many", None), ("UnknownComponent", None, None)],
)  # fmt: skip
def test_items_per_message_is_read_from_the_device_model(
    status: str, value: str | None, limit: int | None
) -> None:
    call = sc.items_per_message_call("SetVariables")
    assert call.payload["getVariableData"] == [
        {
            "component": {"name": "DeviceDataCtrlr"},
            "variable": {"name": "ItemsPerMessage", "instance": "SetVariables"},
        }
    ]
    item = {**call.payload["getVariableData"][0], "attributeStatus": status}
    if value is not None:
        item["attributeValue"] = value
    assert sc.items_per_message({"getVariableResult": [item]}) == limit


def test_a_call_that_failed_fails_each_of_its_keys() -> None:
    call = sc.Call("SetVariables", {}, ("A.B", "C.D"))
    assert [r.status for r in sc.failed_call(call, {"A.B": "1"}, "Timeout", "30 s")] == [
        "Timeout",
        "Timeout",
    ]


def test_get_configuration_and_get_variables_answers() -> None:
    entries, unknown = sc.configuration_entries(
        {
            "configurationKey": [{"key": "HeartbeatInterval", "readonly": False, "value": "300"}],
            "unknownKey": ["Nope"],
        }
    )
    assert entries == [sc.ConfigEntry("HeartbeatInterval", "300", False)]
    assert unknown == ["Nope"]
    (call,), unexpressible = sc.read_keys_calls(V201, ("MeterValueSampleInterval", "bad key"))
    assert call.payload == {"getVariableData": [TX_INTERVAL]}
    assert unexpressible == ["bad key"]
    answer = {
        "getVariableResult": [
            {**TX_INTERVAL, "attributeStatus": "Accepted", "attributeValue": "60"}
        ]
    }
    assert sc.get_variables_results(call.keys, answer) == [
        sc.ParameterResult("MeterValueSampleInterval", "Accepted", "60")
    ]


def report(seq: int, tbc: bool, name: str) -> dict[str, object]:
    return {
        "requestId": 5,
        "seqNo": seq,
        "tbc": tbc,
        "generatedAt": "2026-01-01T00:00:00Z",
        "reportData": [
            {
                "component": {"name": "EVSE", "evse": {"id": 1}},
                "variable": {"name": name},
                "variableAttribute": [
                    {"type": "Target", "value": "x"},
                    {"type": "Actual", "value": "7", "mutability": "ReadOnly"},
                ],
                "variableCharacteristics": {
                    "dataType": "integer",
                    "unit": "A",
                    "supportsMonitoring": False,
                },
            }
        ],
    }


def test_a_report_is_complete_once_every_part_up_to_the_last_has_come() -> None:
    assembly = sc.ReportAssembly()
    assembly.add(report(1, False, "Second"))  # out of order: the last part first
    assert not assembly.complete
    assembly.add(report(0, True, "First"))
    assert assembly.complete
    assert [e.key for e in assembly.entries()] == ["EVSE.First", "EVSE.Second"]
    assert assembly.entries()[0] == sc.ConfigEntry("EVSE.First", "7", True, 1, "integer", "A")


@given(
    st.dictionaries(
        st.text(max_size=8),
        st.recursive(
            st.none() | st.integers() | st.text(max_size=5),
            lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=5), c, max_size=3),
            max_leaves=10,
        ),
        max_size=6,
    )
)
def test_garbage_from_a_station_never_raises(payload: dict[str, object]) -> None:
    sc.report_entries(payload)
    sc.ReportAssembly().add(payload)
    sc.configuration_entries(payload)
    sc.get_variables_results(("MeterValueSampleInterval",), payload)
    plan = sc.plan_change(V201, {"MeterValueSampleInterval": "1"}, ())
    sc.change_results(plan, plan.calls[0], {"MeterValueSampleInterval": "1"}, payload)


@pytest.mark.parametrize("seq", [-1, None, "0"])
def test_a_part_without_a_usable_seq_no_is_ignored(seq: object) -> None:
    assembly = sc.ReportAssembly()
    assembly.add({"requestId": 5, "seqNo": seq, "tbc": False})
    assert not assembly.complete
