"""Operator commands really act on the control loop: the stations get new limits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.api.conftest import API, Operated
from tests.e2e.test_closed_loop import eventually


async def test_a_temporary_site_limit_lowers_the_evses_then_expires(operated: Operated) -> None:
    site = operated.site
    await eventually(lambda: min(site.limits_a()) > 10)
    response = await operated.http.put(API + "/limits", json={"current_a": 16, "duration_s": 1.5})
    assert response.status_code == 200, response.text
    assert response.json()["node_id"] == "main"
    await eventually(lambda: sum(site.limits_a()) <= 16 - 4 + 0.1)  # L1: a + b + 4 A base
    evse = (await operated.http.get(API + "/evses/a")).json()
    assert evse["bound_by"].startswith("node:main:L1:operator")
    listed = (await operated.http.get(API + "/limits")).json()
    assert [x["node_id"] for x in listed] == ["main"]
    # expired: the fuse binds again (after the non-EV peak hold of control.non_ev_hold_s)
    await eventually(lambda: sum(site.limits_a()) > 20, timeout_s=20)
    assert (await operated.http.get(API + "/limits")).json() == []


async def test_lifting_a_limit_by_hand_and_an_unknown_node(operated: Operated) -> None:
    body = {"node_id": "main", "power_w": 5000, "duration_s": 600}
    assert (await operated.http.put(API + "/limits", json=body)).status_code == 200
    assert (await operated.http.delete(API + "/limits/main")).status_code == 204
    assert (await operated.http.delete(API + "/limits/main")).status_code == 404
    unknown = {"node_id": "attic", "current_a": 10, "duration_s": 60}
    assert (await operated.http.put(API + "/limits", json=unknown)).status_code == 404
    nothing = {"duration_s": 60}
    assert (await operated.http.put(API + "/limits", json=nothing)).status_code == 422


async def test_pause_holds_an_evse_at_zero_and_gives_its_share_away(operated: Operated) -> None:
    site = operated.site
    await eventually(lambda: min(site.limits_a()) > 10)
    paused = (await operated.http.post(API + "/evses/a/pause")).json()
    assert paused["paused"] is True
    await eventually(lambda: site.cp16.current_limit_a(1) == 0.0)
    await eventually(lambda: site.cp201.current_limit_a(1) > 20)  # b takes L1's capacity
    evse = (await operated.http.get(API + "/evses/a")).json()
    assert (evse["bound_by"], evse["paused"]) == ("operator_pause", True)
    await operated.http.post(API + "/evses/a/resume")
    await eventually(lambda: site.cp16.current_limit_a(1) > 6)


async def test_priority_and_needs_reach_the_optimizer(operated: Operated) -> None:
    site = operated.site
    await eventually(lambda: min(site.limits_a()) > 10)
    departure = datetime.now(UTC) + timedelta(hours=2)
    body = {"priority": 5, "departure_time": departure.isoformat(), "energy_needed_wh": 3000}
    response = await operated.http.put(API + "/evses/b/overrides", json=body)
    assert response.status_code == 200, response.text
    assert response.json()["priority"] == 5
    # b now goes first on L1: it gets all it may take before a gets the rest
    await eventually(lambda: site.cp201.current_limit_a(1) > site.cp16.current_limit_a(1))
    sessions = {s["evse_id"]: s for s in (await operated.http.get(API + "/sessions")).json()}
    b = sessions["b"]
    assert b["priority"] == 5 and b["energy_needed_wh"] == 3000
    assert abs(datetime.fromisoformat(b["departure_time"]) - departure) < timedelta(seconds=1)
    assert b["overridden"] == ["priority", "departure_s", "energy_needed_wh"]
    naive = {"departure_time": "2030-01-01T00:00:00"}
    assert (await operated.http.put(API + "/evses/b/overrides", json=naive)).status_code == 422


async def test_every_command_is_in_the_event_log(operated: Operated) -> None:
    await operated.http.post(API + "/evses/b/pause")
    await operated.http.post(API + "/evses/b/resume")
    events = (await operated.http.get(API + "/events")).json()
    messages = [e["message"] for e in events if e["kind"] == "operator_evse"]
    assert messages == ["EVSE b paused", "EVSE b resumed"]
