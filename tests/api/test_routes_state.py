"""The state endpoints against a running controller and real simulated stations."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import API, Operated
from tests.e2e.test_closed_loop import FUSE_A, eventually


async def get(operated: Operated, path: str) -> Any:
    response = await operated.http.get(API + path)
    assert response.status_code == 200, response.text
    return response.json()


def _draws_on_l2(operated: Operated) -> bool:
    registry = operated.controller.registry
    assert registry is not None
    return registry.ev_draw_a().get("a", (0.0, 0.0, 0.0))[1] > 0


async def test_the_site_tree_shows_measured_current_limits_and_headroom(operated: Operated) -> None:
    await eventually(lambda: min(operated.site.limits_a()) > 10)
    # the limits are in before the station's next MeterValues reports what it draws
    await eventually(lambda: _draws_on_l2(operated))
    site = await get(operated, "/site")
    assert [n["id"] for n in site["nodes"]] == ["main"]
    main = site["nodes"][0]
    assert main["limits"][0] == {"source": "fuse", "current_a": [FUSE_A] * 3, "power_w": None}
    assert main["measured_current_a"] is not None and len(main["measured_current_a"]) == 3
    assert main["meter_age_s"] < 1.0
    a, b = operated.site.limits_a()
    # the worst-case EV load on L1 is both EVSEs; headroom is what is left after non-EV load
    assert main["ev_load_a"][0] >= a + b - 0.2
    assert main["ev_draw_a"][1] > 0  # EVSE a draws on L2 too; b only on L1
    assert main["headroom_a"][0] is not None and main["headroom_a"][0] >= -0.1
    assert site["stations_connected"] == 2


async def test_each_evse_shows_its_limit_and_what_bound_it(operated: Operated) -> None:
    await eventually(lambda: min(operated.site.limits_a()) > 10)
    evses = {e["id"]: e for e in await get(operated, "/evses")}
    assert set(evses) == {"a", "b"}
    a = evses["a"]
    assert (a["station_id"], a["ocpp_evse_id"], a["status"]) == ("CP-16", 1, "Charging")
    assert a["limit_a"] == operated.site.cp16.current_limit_a(1)
    assert a["bound_by"].startswith("node:main:L1:fuse")
    assert a["mode"] == "normal" and a["paused"] is False


async def test_explain_names_the_binding_node_and_the_session(operated: Operated) -> None:
    await eventually(lambda: min(operated.site.limits_a()) > 10)
    explained = await get(operated, "/evses/b/explain")
    assert explained["evse"]["id"] == "b"
    assert explained["binding_node"]["id"] == "main"
    assert "the fuse on node main (L1) is reached" in explained["explanation"]
    assert explained["allocation"]["phases"] == 1
    assert explained["session"]["transaction_id"] == operated.site.cp201_transaction_id()
    assert explained["floor_a"] == operated.controller.loop.floors_a["b"]  # type: ignore[union-attr]


async def test_an_unknown_evse_is_404(operated: Operated) -> None:
    response = await operated.http.get(API + "/evses/nope/explain")
    assert response.status_code == 404
    assert "nope" in response.json()["detail"]


async def test_stations_sessions_and_inputs_with_their_age(operated: Operated) -> None:
    await eventually(lambda: min(operated.site.limits_a()) > 10)
    stations = {s["id"]: s for s in await get(operated, "/stations")}
    assert stations["CP-201"]["ocpp_version"] == "ocpp2.0.1"
    assert stations["CP-201"]["connected"] and stations["CP-201"]["configured"]
    assert stations["CP-16"]["queued_to_station"] >= 0
    sessions = {s["evse_id"]: s for s in await get(operated, "/sessions")}
    assert set(sessions) == {"a", "b"}
    assert sessions["a"]["transaction_id"] == str(operated.site.cp16.transaction_ids[1])
    assert sessions["a"]["connected_for_s"] >= 0
    inputs = await get(operated, "/inputs")
    grid = inputs["meters"][0]
    assert (grid["id"], grid["node"], grid["status"]) == ("grid", "main", "fresh")
    assert 0 <= grid["age_s"] < 1.0


async def test_the_event_log_pages_by_sequence_number(operated: Operated) -> None:
    events = await get(operated, "/events")
    connected = [e for e in events if e["kind"] == "station" and "connected" in e["message"]]
    assert {e["station_id"] for e in connected} == {"CP-16", "CP-201"}
    last = events[-1]["seq"]
    await operated.site.cp16.close()
    assert operated.controller.api is not None
    log = operated.controller.api.events
    await eventually(lambda: any("disconnected" in e.message for e in log.since(last, 10)))
    newer = await get(operated, f"/events?after={last}")
    assert all(e["seq"] > last for e in newer)
    assert "CP-16 disconnected" in [e["message"] for e in newer]
    assert await get(operated, f"/events?after={newer[-1]['seq']}") == []
