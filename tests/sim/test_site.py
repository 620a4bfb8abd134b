"""The simulated site against the stub CSMS, on real sockets, with a simulated clock."""

from __future__ import annotations

import random
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from ocpp.v16 import call as call16
from ocpp.v201 import call as call201

from localctl.config.loader import load_config
from localctl.config.model import LocalctlConfig
from localctl.inputs.modbus.adapter import TcpRegisterClient
from localctl.inputs.modbus.blocks import RegisterImage, plan_blocks
from localctl.inputs.modbus.meter_values import decode_meter_values
from localctl.inputs.modbus.registers import EASTRON_SDM630
from localctl.sim import StubCsms
from localctl.sim.arrivals import Arrival
from localctl.sim.base_load import BaseLoad, constant_base_load, step_base_load
from localctl.sim.display import phase_lines, session_lines
from localctl.sim.ev import EvSpec
from localctl.sim.quirks import StationQuirks
from localctl.sim.site import SimSite, SiteSettings
from localctl.sim.site_meters import sdm630_meter_ports
from localctl.sim.site_stations import StationPlan
from localctl.sim.station16 import SimStation16
from localctl.sim.station201 import SimStation201
from tests.sim.helpers import profile_201, tx_default_16

REPO = Path(__file__).resolve().parents[2]
SEDAN = EvSpec("sedan", phases=3, max_current_a=16.0)
COMPACT = EvSpec("compact", phases=1, max_current_a=16.0)
CONFIG = LocalctlConfig.model_validate(
    {
        "relay": {"upstream_url": "ws://127.0.0.1:1/ocpp"},
        "site": {
            "nodes": [
                {"id": "main", "kind": "grid_connection", "fuse_a": 63},
                {"id": "sub", "kind": "sub_distribution", "parent": "main", "fuse_a": 40},
            ],
            "evses": [
                {"id": "e1", "node": "sub", "wiring": ["L2", "L3", "L1"], "max_current_a": 32},
                {"id": "e2", "node": "sub", "phases": 1, "wiring": ["L3"], "max_current_a": 16},
                {"id": "e3", "node": "main", "max_current_a": 16},
            ],
        },
        "stations": [
            {"id": "CP-A", "evses": {1: "e1", 2: "e2"}},
            {"id": "CP-B", "evses": {1: "e3"}},
        ],
    }
)
QUIET: dict[str, BaseLoad] = {}


def arrival(evse_id: str, ev: EvSpec = SEDAN, at_s: float = 1.0, **fields: Any) -> Arrival:
    values: dict[str, Any] = {"stay_s": 3600.0, "reaction_delay_s": 1.0}
    values.update(fields)
    return Arrival(at_s, evse_id, ev, **values)


@asynccontextmanager
async def site_for(
    csms: StubCsms,
    arrivals: Sequence[Arrival] = (),
    base_loads: dict[str, BaseLoad] | None = None,
    plan: StationPlan | None = None,
    meter_ports: dict[str, int] | None = None,
) -> AsyncIterator[SimSite]:
    site = SimSite(
        CONFIG,
        csms.url,
        rng=random.Random(1),
        arrivals=arrivals,
        base_loads=QUIET if base_loads is None else base_loads,
        plan=plan or StationPlan(sample_interval_s=5),
        settings=SiteSettings(meter_ports=meter_ports or {}),
    )
    async with site:
        yield site


async def steps(site: SimSite, count: int) -> None:
    for _ in range(count):
        await site.step()


def test_stations_follow_the_configuration() -> None:
    plan = StationPlan(versions={"CP-A": "ocpp2.0.1"})
    site = SimSite(CONFIG, "ws://127.0.0.1:1", rng=random.Random(1), arrivals=[], plan=plan)
    cp_a, cp_b = site.stations["CP-A"], site.stations["CP-B"]
    assert isinstance(cp_a, SimStation201)
    assert isinstance(cp_b, SimStation201)
    assert (cp_a.evses, cp_a.port_phases, cp_a.profiles.port_max_a) == (
        2,
        {1: 3, 2: 1},
        {1: 32.0, 2: 16.0},
    )
    alternating = SimSite(CONFIG, "ws://127.0.0.1:1", rng=random.Random(1), arrivals=[])
    assert isinstance(alternating.stations["CP-A"], SimStation16)
    assert isinstance(alternating.stations["CP-B"], SimStation201)


async def test_every_site_config_file_builds_a_site(csms: StubCsms) -> None:
    for path in sorted((REPO / "site-configs").glob("*.yaml")):
        config = load_config(path)
        if config.site is None or not config.stations:
            continue
        site = SimSite(
            config, csms.url, rng=random.Random(2), settings=SiteSettings(meter_ports={})
        )
        assert set(site.stations) == {station.id for station in config.stations}


async def test_arrival_starts_a_transaction_and_meter_values_follow(csms: StubCsms) -> None:
    async with site_for(csms, [arrival("e1", soc=0.5)]) as site:
        await steps(site, 11)
    sent = csms.received("CP-A")
    names = [action for action, _ in sent]
    assert names[:4] == ["BootNotification", *["StatusNotification"] * 2, "StatusNotification"]
    assert names[4:7] == ["Authorize", "StartTransaction", "StatusNotification"]
    meter_values = [payload for action, payload in sent if action == "MeterValues"]
    assert len(meter_values) == 2  # the transaction started at 1 s: at 6 s and 11 s
    samples = meter_values[-1]["meterValue"][0]["sampledValue"]
    currents = {s["phase"]: s["value"] for s in samples if s["measurand"] == "Current.Import"}
    assert currents == {"L1": "16.0", "L2": "16.0", "L3": "16.0"}
    assert any(s["measurand"] == "SoC" and s["unit"] == "Percent" for s in samples)
    assert meter_values[-1]["transactionId"] == 1


async def test_each_transaction_samples_from_its_own_start(csms: StubCsms) -> None:
    arrivals = [arrival("e1", at_s=1.0), arrival("e2", COMPACT, at_s=3.0)]
    sampled: dict[int, list[float]] = {1: [], 2: []}
    async with site_for(csms, arrivals) as site:
        for _ in range(14):
            await site.step()
            for connector, times in sampled.items():
                if len(times) < _meter_values_of(csms, connector):
                    times.append(site.clock.now_s)
    # MeterValueSampleInterval 5 s, counted from each transaction's start (OCPP 1.6 3.16.1, 9.1.19).
    assert sampled == {1: [6.0, 11.0], 2: [8.0, 13.0]}


def _meter_values_of(csms: StubCsms, connector: int) -> int:
    received = csms.received("CP-A")
    return sum(1 for a, p in received if a == "MeterValues" and p["connectorId"] == connector)


async def test_currents_reach_grid_phases_through_the_wiring(csms: StubCsms) -> None:
    loads = {"main": constant_base_load((1.0, 2.0, 3.0))}
    arrivals = [arrival("e1", COMPACT), arrival("e2", COMPACT)]
    async with site_for(csms, arrivals, base_loads=loads) as site:
        await steps(site, 3)
        # e1's first conductor is grid L2; e2's only conductor is L3.
        assert site.node_currents_a["sub"] == (0.0, 16.0, 16.0)
        assert site.node_currents_a["main"] == (1.0, 18.0, 19.0)
        assert site.grid_current_a == site.node_currents_a["main"]


async def test_a_lower_profile_shows_in_the_draw_after_the_reaction_delay(csms: StubCsms) -> None:
    async with site_for(csms, [arrival("e3", reaction_delay_s=3.0)]) as site:
        await steps(site, 5)
        assert site.model.evses["e3"].drawn_a == (16.0, 16.0, 16.0)
        answer = await csms.call(
            "CP-B",
            call201.SetChargingProfile(
                evse_id=1, charging_profile=profile_201("TxDefaultProfile", 10.0)
            ),
        )
        assert answer.status == "Accepted"
        await steps(site, 2)
        assert site.model.evses["e3"].drawn_a == (16.0, 16.0, 16.0)
        await steps(site, 2)
        assert site.model.evses["e3"].drawn_a == (10.0, 10.0, 10.0)


async def test_a_station_cap_is_shared_by_the_ports_that_charge(csms: StubCsms) -> None:
    arrivals = [arrival("e1"), arrival("e2", COMPACT)]
    cap = {**tx_default_16(20.0, profile_id=5), "charging_profile_purpose": "ChargePointMaxProfile"}
    async with site_for(csms, arrivals) as site:
        await csms.call("CP-A", call16.SetChargingProfile(connector_id=0, cs_charging_profiles=cap))
        await steps(site, 3)
        assert site.offers_a() == {"e1": 10.0, "e2": 10.0}
        assert site.node_currents_a["sub"] == (10.0, 10.0, 20.0)


async def test_a_station_that_ignores_profiles_offers_its_maximum(csms: StubCsms) -> None:
    plan = StationPlan(quirks={"CP-B": StationQuirks(ignores_profiles=True)}, sample_interval_s=5)
    async with site_for(csms, [arrival("e3")], plan=plan) as site:
        answer = await csms.call(
            "CP-B",
            call201.SetChargingProfile(
                evse_id=1, charging_profile=profile_201("TxDefaultProfile", 6.0)
            ),
        )
        await steps(site, 3)
        assert answer.status == "Accepted"
        assert site.offers_a() == {"e3": 16.0}


async def test_departure_stops_the_transaction_and_frees_the_evse(csms: StubCsms) -> None:
    async with site_for(csms, [arrival("e3", stay_s=3.0)]) as site:
        await steps(site, 5)
        assert site.sessions == {}
        assert site.model.evses["e3"].ev is None
        assert site.model.evses["e3"].energy_wh > 0
    ended = [p for a, p in csms.received("CP-B") if a == "TransactionEvent"][-1]
    assert ended["eventType"] == "Ended"
    statuses = [p["connectorStatus"] for a, p in csms.received("CP-B") if a == "StatusNotification"]
    assert statuses[-1] == "Available"


async def test_base_load_step_without_a_controller_is_counted_as_overload(
    csms: StubCsms,
) -> None:
    loads = {"main": step_base_load([(0.0, (10.0, 10.0, 10.0)), (5.0, (60.0, 10.0, 10.0))])}
    async with site_for(csms, [arrival("e1")], base_loads=loads) as site:
        await steps(site, 10)
    # e1's third conductor is grid L1: 60 + 16 A from 5 s on.
    l1 = site.overload.phase("main", "L1")
    assert (l1.seconds_over_s, l1.excess_as, l1.longest_run_s) == (6.0, 6 * 13.0, 6.0)
    assert site.overload.phase("sub", "L1").seconds_over_s == 0.0


async def read_currents(port: int) -> tuple[float, float, float]:
    client = TcpRegisterClient("127.0.0.1", port, unit_id=1, timeout_s=1.0)
    try:
        await client.connect()
        blocks = {
            block: await client.read_registers(block.function_code, block.address, block.count)
            for block in plan_blocks(EASTRON_SDM630)
        }
    finally:
        client.close()
    return decode_meter_values(EASTRON_SDM630, RegisterImage(blocks)).current_a


async def test_site_meters_serve_their_nodes_currents(csms: StubCsms) -> None:
    loads = {"main": constant_base_load((5.0, 6.0, 7.0))}
    meters = {"main": 0, "sub": 0}
    async with site_for(
        csms, [arrival("e2", COMPACT)], base_loads=loads, meter_ports=meters
    ) as site:
        await steps(site, 3)
        assert site.meter is site.meters.servers["main"]
        main_a = await read_currents(site.meters.servers["main"].port)
        sub_a = await read_currents(site.meters.servers["sub"].port)
    assert (main_a, sub_a) == ((5.0, 6.0, 23.0), (0.0, 0.0, 16.0))
    assert site.meters.energy_wh["sub"] == pytest.approx(3 * 16.0 * 230.0 / 3600.0)


def test_meters_configured_on_this_machine_are_simulated_on_their_ports() -> None:
    config = load_config(REPO / "site-configs" / "demo.yaml")
    assert sdm630_meter_ports(config) == {"main": 15020}


async def test_run_paces_steps_faster_with_a_speedup(csms: StubCsms) -> None:
    async with site_for(csms, [arrival("e3")]) as site:
        started = time.monotonic()
        await site.run(60.0, speedup=2000.0)
        elapsed_s = time.monotonic() - started
    assert site.clock.now_s == pytest.approx(60.0)
    assert elapsed_s < 3.0
    assert len([a for a, _ in csms.received("CP-B") if a == "TransactionEvent"]) >= 12


async def test_stations_charge_on_while_offline_and_reconnect(csms: StubCsms) -> None:
    arrivals = [arrival("e3"), arrival("e1", at_s=4.0)]
    async with site_for(csms, arrivals) as site:
        await steps(site, 2)
        await csms.disconnect("CP-A")
        await csms.disconnect("CP-B")
        await steps(site, 4)
        assert not site.stations["CP-B"].connected
        assert site.offers_a() == {"e3": 16.0, "e1": 32.0}
        assert {failure.station_id for failure in site.call_failures} == {"CP-A", "CP-B"}
        await steps(site, 10)  # reconnects after 10 s of simulated time
        assert site.stations["CP-A"].connected
        assert site.stations["CP-B"].connected
    boots = [a for a, _ in csms.received("CP-A") if a == "BootNotification"]
    assert len(boots) == 2


async def test_display_shows_each_phase_against_its_fuse(csms: StubCsms) -> None:
    loads = {"main": constant_base_load((70.0, 0.0, 0.0))}
    async with site_for(csms, [arrival("e3")], base_loads=loads) as site:
        await steps(site, 2)
        phases = phase_lines(site)
        sessions = session_lines(site)
    assert len(phases) == 6
    assert phases[0].startswith("        main L1   86.0 /  63.0 A [")
    assert phases[0].endswith("] OVER")
    assert sessions == ["      e3 CP-B#1 offered  16.0 A drawn 16.0/16.0/16.0 A SoC  30 %"]


async def test_a_session_ending_offline_still_ends_its_tx_profile(csms: StubCsms) -> None:
    async with site_for(csms, [arrival("e3", stay_s=5.0)]) as site:
        await steps(site, 2)
        station = site.stations["CP-B"]
        assert isinstance(station, SimStation201)
        running = station.transactions[1].transaction_id
        profile = profile_201("TxProfile", 6.0, transaction_id=running)
        await csms.call("CP-B", call201.SetChargingProfile(evse_id=1, charging_profile=profile))
        await csms.disconnect("CP-B")
        await steps(site, 5)
        assert station.transactions == {}
        assert station.profiles.profiles == []


async def test_a_controller_that_reacts_keeps_overload_within_its_window(csms: StubCsms) -> None:
    """The pattern of the end-to-end tests, with the test itself as a (very simple)
    controller reading the site meter and setting one TxDefaultProfile per station."""
    loads = {"main": step_base_load([(0.0, (5.0, 5.0, 5.0)), (10.0, (40.0, 5.0, 5.0))])}
    arrivals = [arrival("e1", reaction_delay_s=2.0), arrival("e3", reaction_delay_s=2.0)]
    async with site_for(csms, arrivals, base_loads=loads, meter_ports={"main": 0}) as site:
        assert site.meter is not None
        for _ in range(20):
            await site.step()
            l1_a = (await read_currents(site.meter.port))[0]
            if l1_a > 63.0:
                share_a = max(6.0, (63.0 - 40.0) / 2)
                await csms.call(
                    "CP-A",
                    call16.SetChargingProfile(
                        connector_id=0, cs_charging_profiles=tx_default_16(share_a)
                    ),
                )
                await csms.call(
                    "CP-B",
                    call201.SetChargingProfile(
                        evse_id=0, charging_profile=profile_201("TxDefaultProfile", share_a)
                    ),
                )
    assert site.overload.beyond(window_s=3.0) == [], site.overload.summary()
    assert site.overload.phase("main", "L1").longest_run_s > 0
    assert site.energy_wh["e1"] > 0


async def test_stations_send_heartbeats_at_the_interval_their_boot_answer_gave() -> None:
    async with StubCsms(heartbeat_interval_s=5) as csms, site_for(csms) as site:
        await steps(site, 12)
    for station_id in site.stations:
        beats = [a for a, _ in csms.received(station_id) if a == "Heartbeat"]
        assert len(beats) == 2


async def test_a_site_following_a_wall_clock_advances_to_it_each_step(csms: StubCsms) -> None:
    wall = [datetime(2026, 5, 1, 8, 0, tzinfo=UTC)]
    settings = SiteSettings(meter_ports={}, wall_clock=lambda: wall[0])
    site = SimSite(CONFIG, csms.url, rng=random.Random(1), arrivals=[], settings=settings)
    async with site:
        wall[0] += timedelta(seconds=2.5)
        await site.step()
        assert (site.clock.now(), site.clock.now_s) == (wall[0], 2.5)
        await site.step()  # the wall clock stood still: no time passes
        assert site.clock.now_s == 2.5


async def test_meters_start_before_the_stations_connect_to_a_late_url(csms: StubCsms) -> None:
    site = SimSite(
        CONFIG,
        "ws://127.0.0.1:1/nowhere",
        rng=random.Random(1),
        arrivals=[],
        settings=SiteSettings(meter_ports={"main": 0}),
    )
    try:
        ports = await site.start_meters()
        assert ports == {"main": site.meters.servers["main"].port} and ports["main"] > 0
        await site.connect(csms.url)
        assert all(station.connected for station in site.stations.values())
    finally:
        await site.aclose()
    assert not site.meters.servers["main"].running
