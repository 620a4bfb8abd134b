from __future__ import annotations

from localctl.sim import StubCsms, build_fleet, run_fleet


async def test_fleet_stations_each_live_a_session_against_one_url(csms: StubCsms) -> None:
    frames: list[str] = []

    def on_frame(identity: str, direction: str, text: str) -> None:
        frames.append(identity)

    stations = build_fleet(csms.url, ids16=["CP-1"], ids201=["CS-1", "CS-2"], on_frame=on_frame)
    await run_fleet(stations, meter_interval_s=0.002, sessions=1, seed=3)

    assert {csms.subprotocol(sid) for sid in ("CP-1", "CS-1", "CS-2")} == {"ocpp1.6", "ocpp2.0.1"}
    assert [a for a, _ in csms.received("CP-1")].count("StopTransaction") == 1
    for station_id in ("CS-1", "CS-2"):
        ended = [p for a, p in csms.received(station_id) if a == "TransactionEvent"][-1]
        assert ended["eventType"] == "Ended"
    assert set(frames) == {"CP-1", "CS-1", "CS-2"}
    for station_id in ("CP-1", "CS-1", "CS-2"):
        await csms.wait_disconnected(station_id)
