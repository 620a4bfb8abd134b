"""/metrics in the Prometheus text format, read back with prometheus_client's own parser."""

from __future__ import annotations

import asyncio

from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from localctl.api.metrics import TrafficCounters
from localctl.relay.events import FrameRelayed, OwnCallFailed, Side
from localctl.relay.frames import MessageType
from tests.api.conftest import Operated
from tests.e2e.test_closed_loop import eventually


async def scrape(operated: Operated) -> dict[str, list[Sample]]:
    response = await operated.http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {f.name: f.samples for f in text_string_to_metric_families(response.text)}


def relayed_counts(metrics: dict[str, list[Sample]]) -> dict[tuple[str, str, str], float]:
    return {
        (s.labels["action"], s.labels["direction"], s.labels["type"]): s.value
        for s in metrics["localctl_messages"]
    }


async def test_metrics_come_from_the_running_site(operated: Operated) -> None:
    await eventually(lambda: min(operated.site.limits_a()) > 10)
    # The limits can land before the CSMS has answered any MeterValues: scrape until it has.
    async with asyncio.timeout(8.0):
        while True:
            metrics = await scrape(operated)
            relayed = relayed_counts(metrics)
            if ("MeterValues", "csms->station", "CALLRESULT") in relayed:
                break
            await asyncio.sleep(0.05)
    assert relayed[("BootNotification", "station->csms", "CALL")] == 2
    assert relayed[("MeterValues", "csms->station", "CALLRESULT")] >= 1
    latency = [s for s in metrics["localctl_relayed_call_seconds"] if s.name.endswith("_count")]
    assert latency and latency[0].labels["direction"] == "station->csms" and latency[0].value > 0
    own = {s.labels["action"] for s in metrics["localctl_own_calls"]}
    assert "SetChargingProfile" in own
    limits = {s.labels["evse"]: s for s in metrics["localctl_evse_limit_amperes"]}
    assert limits["a"].value > 10
    assert limits["a"].labels["bound_by"].startswith("node:main:L1:fuse")
    headroom = {s.labels["phase"] for s in metrics["localctl_node_headroom_amperes"]}
    assert headroom == {"L1", "L2", "L3"}
    queues = {
        (s.labels["station"], s.labels["destination"]) for s in metrics["localctl_queue_depth"]
    }
    assert ("CP-201", "station") in queues
    assert metrics["localctl_input_age_seconds"][0].value < 1.0
    assert metrics["localctl_non_compliant_evses"][0].value == 0
    assert metrics["localctl_non_compliant_station"] == []
    assert metrics["localctl_stations_connected"][0].value == 2
    assert metrics["localctl_outbox_backlog"] == []  # nothing stored: the CSMS is up
    held = {s.name: s for s in metrics["localctl_relay_frame_seconds"]}
    frames = held["localctl_relay_frame_seconds_count"].value
    assert frames >= relayed[("BootNotification", "station->csms", "CALL")]
    assert 0 < held["localctl_relay_frame_seconds_sum"].value < frames * 0.05  # under 50 ms each


async def test_undelivered_outbox_entries_are_counted_per_station(operated: Operated) -> None:
    outbox = operated.controller.outbox
    assert outbox is not None  # offline operation is on by default
    frame = '[2,"m-1","MeterValues",{"connectorId":1,"meterValue":[]}]'
    await outbox.append("CP-GONE", "MeterValues", "m-1", frame, received_wall_s=0.0)
    await eventually(lambda: operated.controller.outbox_backlog.get("CP-GONE") == 1)
    backlog = (await scrape(operated))["localctl_outbox_backlog"]
    assert [(s.labels["station"], s.value) for s in backlog] == [("CP-GONE", 1.0)]


async def test_a_station_that_ignores_its_limit_shows_as_non_compliant(operated: Operated) -> None:
    await eventually(lambda: min(operated.site.limits_a()) > 10)
    operated.site.a_ignores_limit_at_a = 32.0
    loop = operated.controller.loop
    assert loop is not None
    await eventually(lambda: bool(loop.compliance.flagged))
    metrics = await scrape(operated)
    assert metrics["localctl_non_compliant_evses"][0].value >= 1
    stations = {
        (m.labels["station"], m.labels["evse"]) for m in metrics["localctl_non_compliant_station"]
    }
    assert stations == {("CP-16", "a")}


def test_latency_is_bucketed_by_the_calling_side() -> None:
    now = [0.0]
    traffic = TrafficCounters(lambda: now[0])
    traffic.observe("CP", FrameRelayed(Side.CSMS, MessageType.CALL, "Reset", "m1", {}))
    now[0] = 0.03
    traffic.observe("CP", FrameRelayed(Side.STATION, MessageType.CALLRESULT, "Reset", "m1", {}))
    traffic.observe("CP", FrameRelayed(Side.STATION, MessageType.CALLRESULT, "Reset", "zz", {}))
    assert traffic.latency["csms->station"].counts[3] == 1  # 25 ms < 30 ms <= 50 ms
    assert traffic.latency["csms->station"].total_s == 0.03
    assert traffic.messages[("Reset", "station->csms", "CALLRESULT")] == 2
    traffic.observe("CP", OwnCallFailed("lc-1", "SetChargingProfile", "Timeout", ""))
    assert traffic.own_calls[("SetChargingProfile", "Timeout")] == 1
