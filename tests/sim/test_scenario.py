from __future__ import annotations

import random
from typing import Any

from ocpp.v201 import call as call201

from localctl.sim import LifecycleStation, SimStation16, SimStation201, StubCsms, run_station_life
from localctl.sim.scenario import EvModel, energy_increment_wh


async def run_fast(station: LifecycleStation, sessions: int, seed: int) -> None:
    await run_station_life(
        station,
        meter_interval_s=0.002,
        sessions=sessions,
        rng=random.Random(seed),
        samples_per_session=(3, 3),
        idle_intervals=(1, 1),
    )


def sampled_currents_a(received: list[tuple[str, dict[str, Any]]]) -> list[float]:
    return [
        float(sample["value"])
        for _, payload in received
        for meter_value in payload.get("meterValue", [])
        for sample in meter_value["sampledValue"]
        if sample["measurand"] == "Current.Import"
    ]


async def test_station16_life_reports_each_session_in_order(csms: StubCsms) -> None:
    async with SimStation16(csms.url, "CP-16") as station:
        await run_fast(station, sessions=2, seed=1)
    session = [
        ("StatusNotification", "Preparing"),
        ("Authorize", None),
        ("StartTransaction", None),
        ("StatusNotification", "Charging"),
        *[("MeterValues", None)] * 3,
        ("StopTransaction", None),
        ("StatusNotification", "Finishing"),
        ("StatusNotification", "Available"),
    ]
    seen = [(action, payload.get("status")) for action, payload in csms.received("CP-16")]
    assert seen == [("BootNotification", None), ("StatusNotification", "Available"), *session * 2]


async def test_station201_life_draws_no_more_than_the_installed_limit(csms: StubCsms) -> None:
    profile = {
        "id": 1,
        "stack_level": 0,
        "charging_profile_purpose": "TxDefaultProfile",
        "charging_profile_kind": "Relative",
        "charging_schedule": [
            {
                "id": 1,
                "charging_rate_unit": "A",
                "charging_schedule_period": [{"start_period": 0, "limit": 10.0}],
            }
        ],
    }
    async with SimStation201(csms.url, "CS-201") as station:
        await csms.call("CS-201", call201.SetChargingProfile(evse_id=0, charging_profile=profile))
        await run_fast(station, sessions=3, seed=2)
    events = [(a, p["eventType"]) for a, p in csms.received("CS-201") if a == "TransactionEvent"]
    assert (
        events
        == [("TransactionEvent", kind) for kind in ["Started", *["Updated"] * 3, "Ended"]] * 3
    )
    drawn_a = sampled_currents_a(csms.received("CS-201"))
    assert drawn_a and all(9.0 <= amps <= 10.0 for amps in drawn_a)


async def test_same_seed_replays_the_same_currents() -> None:
    drawn: list[list[float]] = []
    for _ in range(2):
        async with StubCsms() as csms, SimStation16(csms.url, "CP") as station:
            await run_fast(station, sessions=2, seed=42)
        drawn.append(sampled_currents_a(csms.received("CP")))
    assert drawn[0] == drawn[1]


def test_ev_draws_nothing_when_offered_less_than_six_amps() -> None:
    ev = EvModel("three-phase 11 kW", phases=3, max_current_a=16.0)
    assert ev.draw_a(5.9, random.Random(0)) == (0.0, 0.0, 0.0)
    assert all(15.4 <= amps <= 16.0 for amps in ev.draw_a(32.0, random.Random(0)))


def test_energy_increment_is_current_times_voltage_times_time() -> None:
    assert energy_increment_wh([10.0, 10.0, 10.0], interval_s=3600.0) == 6900.0


async def test_station_life_sends_heartbeats_at_the_interval(csms: StubCsms) -> None:
    async with SimStation201(csms.url, "CS-201") as station:
        await run_station_life(
            station,
            meter_interval_s=0.01,
            sessions=1,
            rng=random.Random(5),
            samples_per_session=(3, 3),
            heartbeat_interval_s=0.012,
        )
    assert [a for a, _ in csms.received("CS-201")].count("Heartbeat") >= 2
