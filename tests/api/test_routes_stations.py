"""Remote configuration and commands through the API, against simulated 1.6 and 2.0.1
stations behind the real relay: results per station and per parameter."""

from __future__ import annotations

from typing import Any

from localctl.sim import SimStation201
from tests.api.conftest import API, Operated
from tests.e2e.test_closed_loop import eventually


async def post(operated: Operated, path: str, body: dict[str, Any]) -> Any:
    response = await operated.http.post(API + path, json=body)
    assert response.status_code == 200, response.text
    return response.json()


def by_key(results: list[dict[str, Any]]) -> dict[str, str]:
    return {r["key"]: r["status"] for r in results}


async def test_reading_a_1_6_station_s_whole_configuration(operated: Operated) -> None:
    read = (await operated.http.get(API + "/stations/CP-16/configuration")).json()
    assert (read["status"], read["ocpp_version"], read["complete"]) == ("Accepted", "ocpp1.6", True)
    entries = {e["key"]: e for e in read["entries"]}
    assert entries["MeterValueSampleInterval"]["value"] == "60"
    assert entries["NumberOfConnectors"]["read_only"] is True


async def test_reading_a_2_0_1_station_collects_the_notify_report_frames(
    operated: Operated,
) -> None:
    read = (await operated.http.get(API + "/stations/CP-201/configuration")).json()
    assert (read["status"], read["ocpp_version"], read["complete"]) == (
        "Accepted",
        "ocpp2.0.1",
        True,
    )
    entries = {e["key"]: e for e in read["entries"]}
    assert entries["SampledDataCtrlr.TxUpdatedInterval"]["value"] == "60"
    assert entries["SmartChargingCtrlr.RateUnit"]["read_only"] is True
    # the station sent its report to the CSMS, as B07.FR.03 says: the relay passed it on
    reports = [p for a, p in operated.site.csms.received("CP-201") if a == "NotifyReport"]
    assert reports and reports[0]["requestId"] >= 2_000_000_000


async def test_changing_sampling_on_both_stations_at_once_with_a_result_per_parameter(
    operated: Operated,
) -> None:
    values = {
        "MeterValueSampleInterval": "15",
        "MeterValuesSampledData": "Current.Import,Power.Active.Import",
        "HeartbeatInterval": "120",  # owned by the CSMS in this configuration
        "NumberOfConnectors": "4",
        "Vendor.Unknown": "1",
    }
    body = {"station_ids": ["CP-16", "CP-201"], "values": values}
    results = (await post(operated, "/configuration", body))["results"]
    assert by_key(results["CP-16"]) == {
        "MeterValueSampleInterval": "Accepted",
        "MeterValuesSampledData": "Accepted",
        "HeartbeatInterval": "LockedByCsms",
        "NumberOfConnectors": "Rejected",  # read-only
        "Vendor.Unknown": "NotSupported",  # 1.6 5.3: an unknown key
    }
    assert by_key(results["CP-201"]) == {
        "MeterValueSampleInterval": "Accepted",
        "MeterValuesSampledData": "Accepted",
        "HeartbeatInterval": "LockedByCsms",
        "NumberOfConnectors": "NotExpressible",  # no 2.0.1 name for it
        "Vendor.Unknown": "UnknownComponent",  # B05.FR.04
    }
    site = operated.site
    assert site.cp16.config.value("MeterValueSampleInterval") == "15"
    assert site.cp201.variables.value("SampledDataCtrlr", "TxUpdatedInterval") == "15"
    assert site.cp201.variables.value("SampledDataCtrlr", "TxUpdatedMeasurands") == (
        "Current.Import,Power.Active.Import"
    )
    assert site.cp16.config.value("HeartbeatInterval") != "120"
    # the controller's calls went to the stations only: the CSMS saw none of them
    assert not [a for a, _ in site.csms.received("CP-16") if a == "ChangeConfiguration"]
    log = (await operated.http.get(API + "/events")).json()
    changes = [e for e in log if e["kind"] == "config_change"]
    assert {e["station_id"] for e in changes} == {"CP-16", "CP-201"}
    assert "MeterValueSampleInterval=15 Accepted" in changes[0]["message"]


async def test_a_station_taking_two_variables_per_message_gets_them_two_by_two(
    operated: Operated,
) -> None:
    url = f"ws://127.0.0.1:{operated.controller.relay.port}/ocpp"
    items = {("DeviceDataCtrlr", "ItemsPerMessage"): "2"}
    async with SimStation201(url, "CP-SMALL", variables=items) as station:
        await station.boot()
        values = {
            "MeterValueSampleInterval": "10",
            "HeartbeatInterval": "60",  # locked: never sent
            "ClockAlignedDataInterval": "900",
            "ConnectionTimeOut": "30",
        }
        body = {"station_ids": ["CP-SMALL"], "values": values}
        results = (await post(operated, "/configuration", body))["results"]["CP-SMALL"]
        assert by_key(results) == {
            "HeartbeatInterval": "LockedByCsms",
            "MeterValueSampleInterval": "Accepted",
            "ClockAlignedDataInterval": "Accepted",
            "ConnectionTimeOut": "Accepted",
        }
        sent = [p for a, p in station.received if a == "SetVariables"]
        assert [len(p["setVariableData"]) for p in sent] == [2, 1]  # B05.FR.11
        asked = [p for a, p in station.received if a == "GetVariables"]
        assert len(asked) == 1  # ItemsPerMessage, once for the connection


async def test_an_offline_station_and_an_unanswered_call_get_their_own_results(
    operated: Operated,
) -> None:
    site = operated.site
    await site.cp16.close()
    await eventually(lambda: "CP-16" not in site.controller.relay.station_ids)
    site.cp201.script.leave_unanswered("SetVariables")
    body = {"station_ids": ["CP-16", "CP-201"], "values": {"MeterValueSampleInterval": "30"}}
    results = (await post(operated, "/configuration", body))["results"]
    assert by_key(results["CP-16"]) == {"MeterValueSampleInterval": "NotConnected"}
    assert by_key(results["CP-201"]) == {"MeterValueSampleInterval": "Timeout"}
    offline = await operated.http.get(API + "/stations/CP-16/configuration")
    assert offline.status_code == 409


async def test_reading_some_keys_by_either_name(operated: Operated) -> None:
    keys = {"keys": ["SampledDataCtrlr.TxUpdatedInterval", "Nope"]}
    from_16 = await post(operated, "/stations/CP-16/configuration/read", keys)
    assert [(r["key"], r["status"], r["value"]) for r in from_16] == [
        ("MeterValueSampleInterval", "Accepted", "60"),
        ("Nope", "UnknownKey", None),
    ]
    from_201 = await post(operated, "/stations/CP-201/configuration/read", keys)
    assert [(r["key"], r["status"]) for r in from_201] == [
        ("Nope", "NotExpressible"),
        ("SampledDataCtrlr.TxUpdatedInterval", "Accepted"),
    ]


async def test_station_commands_each_with_the_station_s_answer(operated: Operated) -> None:
    site = operated.site
    trigger = await post(operated, "/stations/CP-201/trigger", {"message": "StatusNotification"})
    assert (trigger["action"], trigger["status"]) == ("TriggerMessage", "Accepted")
    unlock = await post(operated, "/stations/CP-16/unlock", {"evse_id": 1})
    assert (unlock["action"], unlock["status"]) == ("UnlockConnector", "Unlocked")
    reset = await post(operated, "/stations/CP-16/reset", {"hard": False})
    assert (reset["action"], reset["status"]) == ("Reset", "Accepted")
    stop = {"transaction_id": site.cp201_transaction_id()}
    stopped = await post(operated, "/stations/CP-201/remote-stop", stop)
    assert (stopped["action"], stopped["status"]) == ("RequestStopTransaction", "Accepted")
    await eventually(lambda: 1 not in site.cp201.transactions)
    start = {"evse_id": 1, "id_token": "OPERATOR-1"}
    started = await post(operated, "/stations/CP-201/remote-start", start)
    assert (started["action"], started["status"]) == ("RequestStartTransaction", "Accepted")
    await eventually(lambda: 1 in site.cp201.transactions)
    again = await post(operated, "/stations/CP-201/remote-start", start)
    assert again["status"] == "Rejected"  # a transaction runs there now
    not_16 = await post(operated, "/stations/CP-16/trigger", {"message": "TransactionEvent"})
    assert not_16["status"] == "NotExpressible"
    assert ("Reset", {"type": "Soft"}) in site.cp16.received
    commands = [
        e for e in (await operated.http.get(API + "/events")).json() if e["kind"] == "command"
    ]
    assert len(commands) == 7
