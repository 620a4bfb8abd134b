"""The closed loop end to end: simulated 1.6 and 2.0.1 stations, the controller, a stub CSMS
and a Modbus site meter, all on loopback with real sockets."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import pytest
from ocpp.v16 import call as call16
from ocpp.v201 import call as call201
from pymodbus.client import AsyncModbusTcpClient
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

from localctl.config.model import LocalctlConfig
from localctl.service import Controller
from localctl.sim import SimError, SimStation16, SimStation201, StubCsms
from tests.inputs.modbus.helpers import FakeMeter
from tests.test_service import fast_grid_meter, sdm630_inputs

FUSE_A = 32.0
TAG = "04E91C5A2B3F80"


def config(csms_url: str, meter_port: int) -> LocalctlConfig:
    """A 3 x 32 A site: EVSE a (three-phase, 1.6) and b (single-phase on L1, 2.0.1), a grid
    meter, and an EMS that may limit the site through localctl's Modbus server."""
    return LocalctlConfig.model_validate(
        {
            "relay": {"listen": "127.0.0.1:0", "upstream_url": csms_url, "ping_interval_s": None},
            "site": {
                "nodes": [{"id": "main", "kind": "grid_connection", "fuse_a": FUSE_A}],
                "evses": [
                    {"id": "a", "node": "main", "max_current_a": 32},
                    {"id": "b", "node": "main", "phases": 1, "wiring": ["L1"], "max_current_a": 32},
                ],
            },
            "stations": [{"id": "CP-16", "evses": {1: "a"}}, {"id": "CP-201", "evses": {1: "b"}}],
            "identity": {"station_id": "LOCALCTL", "node_id": "main"},
            "inputs": {
                "modbus_meters": [fast_grid_meter(meter_port)],
                "ems_modbus": {
                    "listen_host": "127.0.0.1",
                    "listen_port": 0,
                    "node_id": "main",
                    "heartbeat_timeout_s": 1.5,
                },
            },
            "control": {
                "period_s": 0.1,
                "max_increase_a_per_cycle": 64,
                "meter_stale_s": 1.0,
                "meter_lost_s": 2.0,
                "reaction_window_s": 1.0,
                "lease_s": 3.0,
            },
        }
    )


@dataclass
class Site:
    controller: Controller
    csms: StubCsms
    meter: FakeMeter
    cp16: SimStation16
    cp201: SimStation201
    running: asyncio.Task[None]
    base_a: tuple[float, float, float] = (4.0, 4.0, 4.0)
    a_ignores_limit_at_a: float | None = None  # EV a draws this whatever its limit

    async def kill_controller(self) -> None:
        self.running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.running

    def cp201_transaction_id(self) -> str:
        return self.cp201.transactions[1].transaction_id

    def limits_a(self) -> tuple[float, float]:
        return self.cp16.current_limit_a(1), self.cp201.current_limit_a(1)

    async def step(self) -> None:
        """EVs take what they are offered and report it; the meter sees base load plus EVs."""
        a, b = self.limits_a()
        a, b = (a if a >= 6 else 0.0), (b if b >= 6 else 0.0)  # IEC 61851: nothing below 6 A
        a = self.a_ignores_limit_at_a if self.a_ignores_limit_at_a is not None else a
        await self.cp16.meter_values(1, (a, a, a), 1000.0)
        await self.cp201.meter_values(1, (b,), 1000.0)
        base = self.base_a
        for address, word in sdm630_inputs((base[0] + a + b, base[1] + a, base[2] + a)).items():
            self.meter.inputs[address] = word


async def drive(site: Site) -> None:
    while True:
        with contextlib.suppress(SimError):  # a station cut off keeps its last limits
            await site.step()
        await asyncio.sleep(0.2)


def csms_tx_profile(transaction_id: int, limit_a: float) -> call16.SetChargingProfile:
    """A 1.6 CSMS's TxProfile capping connector 1's transaction at `limit_a`."""
    return call16.SetChargingProfile(
        connector_id=1,
        cs_charging_profiles={
            "charging_profile_id": 77,
            "stack_level": 0,
            "charging_profile_purpose": "TxProfile",
            "charging_profile_kind": "Relative",
            "transaction_id": transaction_id,
            "charging_schedule": {
                "charging_rate_unit": "A",
                "charging_schedule_period": [{"start_period": 0, "limit": limit_a}],
            },
        },
    )


async def eventually(condition: Callable[[], bool], timeout_s: float = 8.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not condition():  # noqa: ASYNC110 (the simulators have no change events)
            await asyncio.sleep(0.05)


@dataclass
class Running:
    controller: Controller
    csms: StubCsms
    meter: FakeMeter
    task: asyncio.Task[None]

    @property
    def station_url(self) -> str:
        return f"ws://127.0.0.1:{self.controller.relay.port}/ocpp"


@contextlib.asynccontextmanager
async def running_controller(
    configure: Callable[[str, int], LocalctlConfig] = config,
) -> AsyncIterator[Running]:
    """A started controller with its stub CSMS and grid meter; stations are the caller's."""
    meter = FakeMeter({}, sdm630_inputs((4.0, 4.0, 4.0)))
    meter_port = await meter.start()
    async with StubCsms() as csms:
        controller = Controller(configure(csms.url, meter_port))
        stop = asyncio.Event()
        task = asyncio.create_task(controller.run(stop))
        try:
            await asyncio.wait_for(controller.started.wait(), 10)
            yield Running(controller, csms, meter, task)
        finally:
            stop.set()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(task, 30)
            await meter.stop()


@contextlib.asynccontextmanager
async def open_site(
    configure: Callable[[str, int], LocalctlConfig] = config,
) -> AsyncIterator[Site]:
    """The running site: `configure(csms_url, meter_port)` gives the controller's settings."""
    async with running_controller(configure) as run:
        url = run.station_url
        async with SimStation16(url, "CP-16") as cp16, SimStation201(url, "CP-201") as cp201:
            for station in (cp16, cp201):
                await station.boot()
                await station.start_charging(1, TAG)
            simulated = Site(run.controller, run.csms, run.meter, cp16, cp201, run.task)
            driver = asyncio.create_task(drive(simulated))
            try:
                yield simulated
            finally:
                driver.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await driver


@pytest.fixture
async def site() -> AsyncIterator[Site]:
    async with open_site() as simulated:
        yield simulated


def l1_load_a(site: Site) -> float:
    a, b = site.limits_a()
    return a + b  # EVSE a loads L1..L3, EVSE b only L1


async def test_both_versions_get_fair_limits_that_fit_the_fuse(site: Site) -> None:
    await eventually(lambda: min(site.limits_a()) > 10)
    assert l1_load_a(site) <= FUSE_A - 4.0 + 0.1
    actions = [a for a, _ in site.cp16.received]
    assert "SetChargingProfile" in actions
    purposes = {
        p["csChargingProfiles"]["chargingProfilePurpose"]
        for a, p in site.cp16.received
        if a == "SetChargingProfile"
    }
    assert {"ChargePointMaxProfile", "TxProfile"} <= purposes
    assert not [a for a, _ in site.csms.received("CP-16") if a == "SetChargingProfile"]
    telemetry = site.controller.telemetry_snapshot()
    evse_a = telemetry.evses["a"]
    assert evse_a["limit_a"] == site.cp16.current_limit_a(1)
    assert str(evse_a["bound_by"]).startswith("node:main:L1:fuse")
    assert telemetry.stations["CP-16"]["ocpp_version"] == "ocpp1.6"
    assert telemetry.stations["CP-201"]["evses"] == {
        "b": {"status": "Charging", "transaction_id": site.cp201_transaction_id()}
    }


async def test_a_base_load_step_brings_the_evs_down_within_a_few_cycles(site: Site) -> None:
    await eventually(lambda: min(site.limits_a()) > 10)
    site.base_a = (20.0, 4.0, 4.0)  # a heat pump starts on L1
    await eventually(lambda: l1_load_a(site) <= FUSE_A - 20.0 + 0.1)
    assert min(site.limits_a()) >= 6.0  # both still charge: 12 A is two minimums


async def test_the_lower_of_the_csms_profile_and_the_local_limit_holds(site: Site) -> None:
    await eventually(lambda: min(site.limits_a()) > 10)
    profile = csms_tx_profile(site.cp16.transaction_ids[1], 8.0)
    answer = await site.csms.call("CP-16", profile)
    assert answer.status == "Accepted"
    await eventually(lambda: site.cp16.current_limit_a(1) <= 8.0)
    await eventually(lambda: site.cp201.current_limit_a(1) > 16.0)  # the rest goes to b


async def test_a_lost_meter_sends_everyone_to_the_floors(site: Site) -> None:
    await eventually(lambda: min(site.limits_a()) > 10)
    floors = site.controller.loop.floors_a if site.controller.loop else {}
    await site.meter.stop()
    await eventually(lambda: site.limits_a() == (floors["a"], floors["b"]))
    assert floors["a"] + floors["b"] <= FUSE_A


async def test_when_the_controller_dies_the_stations_fall_back_to_their_floors(site: Site) -> None:
    await eventually(lambda: min(site.limits_a()) > 10)
    loop = site.controller.loop
    assert loop is not None
    floors = loop.floors_a
    await site.kill_controller()  # every socket drops, nothing renews the leases
    await asyncio.wait_for(site.cp16.wait_disconnected(), 5)
    await eventually(lambda: site.limits_a() == (floors["a"], floors["b"]), timeout_s=10)
    assert floors["a"] + floors["b"] <= FUSE_A  # the floors fit the fuse on L1


async def test_an_ems_limit_is_obeyed_reported_to_the_csms_and_its_expiry_means_floors(
    site: Site,
) -> None:
    await eventually(lambda: min(site.limits_a()) > 10)
    server = site.controller.ems_server
    assert server is not None and server.port is not None
    async with AsyncModbusTcpClient("127.0.0.1", port=server.port) as ems:
        # 4.6 kW over the three phases: 20 A in all at 230 V, of which the base load takes 12.
        await ems.write_registers(0, [0, 4600], device_id=1)
        await ems.write_registers(6, [1], device_id=1)
        await eventually(lambda: 3 * site.limits_a()[0] + site.limits_a()[1] <= 8.0 + 0.3)
        assert site.limits_a()[1] >= 6.0 or site.limits_a()[0] >= 6.0
        await site.csms.wait_for_call("CP-201", "NotifyChargingLimit")  # K14.FR.02
        notify = [p for a, p in site.csms.received("CP-201") if a == "NotifyChargingLimit"]
        assert notify[0]["chargingLimit"]["chargingLimitSource"] == "EMS"
        assert not [a for a, _ in site.csms.received("CP-16") if a == "NotifyChargingLimit"]
        # The EMS goes quiet: its heartbeat stops, the limit expires and is released upstream;
        # with no safe EMS limit configured, the site then sits on its floors.
        await site.csms.wait_for_call("CP-201", "ClearedChargingLimit", timeout_s=8)  # K14.FR.03
    floors = site.controller.loop.floors_a if site.controller.loop else {}
    await eventually(lambda: site.limits_a() == (floors["a"], floors["b"]))


async def test_a_csms_cap_on_a_reserved_stack_level_cannot_shadow_the_floor(site: Site) -> None:
    await eventually(lambda: min(site.limits_a()) > 10)
    cap = call16.SetChargingProfile(
        connector_id=0,
        cs_charging_profiles={
            "charging_profile_id": 99,
            "stack_level": 9,
            "charging_profile_purpose": "ChargePointMaxProfile",
            "charging_profile_kind": "Relative",
            "charging_schedule": {
                "charging_rate_unit": "A",
                "charging_schedule_period": [{"start_period": 0, "limit": 30.0}],
            },
        },
    )
    assert (await site.csms.call("CP-16", cap)).status == "Accepted"
    installed = [
        p for a, p in site.cp16.received if a == "SetChargingProfile" and p["connectorId"] == 0
    ]
    assert any(
        p["csChargingProfiles"]["chargingProfileId"] == 99
        and p["csChargingProfiles"]["stackLevel"] == 6
        for p in installed
    )
    floors = site.controller.loop.floors_a if site.controller.loop else {}
    await site.kill_controller()
    await eventually(lambda: site.cp16.current_limit_a(1) == floors["a"], timeout_s=10)


async def test_an_ev_ignoring_its_limit_is_flagged_and_the_others_absorb_the_error(
    site: Site,
) -> None:
    await eventually(lambda: min(site.limits_a()) > 10)
    site.a_ignores_limit_at_a = 20.0
    site.base_a = (8.0, 4.0, 4.0)  # a little more load: a's limit goes down, a does not follow
    await eventually(
        lambda: "a" in (site.controller.loop.compliance.flagged if site.controller.loop else {})
    )
    # a's real 20 A is reserved on L1: b gets what is left of 32 A after 8 A base and 20 A.
    await eventually(lambda: site.cp201.current_limit_a(1) <= 32.0 - 8.0 - 20.0 + 0.1)
    loop = site.controller.loop
    assert loop is not None
    telemetry = site.controller.telemetry_snapshot()
    assert telemetry.evses["a"]["non_compliant"] == loop.compliance.flagged["a"].reason
    site.a_ignores_limit_at_a = None  # it obeys again: the flag clears
    await eventually(
        lambda: not (site.controller.loop.compliance.flagged if site.controller.loop else {"x": 1})
    )


async def test_a_group_limit_on_the_controllers_own_identity_caps_the_site(site: Site) -> None:
    await eventually(lambda: min(site.limits_a()) > 10)
    await site.csms.wait_connected("LOCALCTL")
    group_cap = call201.SetChargingProfile(
        evse_id=0,
        charging_profile={
            "id": 1,
            "stack_level": 0,
            "charging_profile_purpose": "ChargingStationMaxProfile",
            "charging_profile_kind": "Absolute",
            "charging_schedule": [
                {
                    "id": 1,
                    "start_schedule": "2026-01-01T00:00:00Z",
                    "charging_rate_unit": "A",
                    "charging_schedule_period": [{"start_period": 0, "limit": 20.0}],
                }
            ],
        },
    )
    assert (await site.csms.call("LOCALCTL", group_cap)).status == "Accepted"
    await eventually(lambda: l1_load_a(site) <= 20.0 - 4.0 + 0.1)  # the cap less the base load
    report = site.controller.loop.last if site.controller.loop else None
    assert report is not None and any("csms" in why for why in report.wanted.why.values())
    composite = await site.csms.call(
        "LOCALCTL", call201.GetCompositeSchedule(evse_id=0, duration=60)
    )
    assert composite.schedule["charging_schedule_period"] == [{"start_period": 0, "limit": 20.0}]


async def test_the_csms_composite_schedule_is_what_the_station_really_does(site: Site) -> None:
    await eventually(lambda: min(site.limits_a()) > 10)
    answer = await site.csms.call(
        "CP-16", call16.GetCompositeSchedule(connector_id=1, duration=60, charging_rate_unit="A")
    )
    assert answer.status == "Accepted"
    first_period = answer.charging_schedule["charging_schedule_period"][0]
    assert first_period["limit"] == site.cp16.current_limit_a(1)  # the controller's lease, live


async def _answer_slowly(socket: ClientConnection, delay_s: float, received: list[str]) -> None:
    """A 2.0.1 station that accepts every call, `delay_s` after it arrives."""

    async def answer(message_id: str) -> None:
        await asyncio.sleep(delay_s)
        await socket.send(json.dumps([3, message_id, {"status": "Accepted"}]))

    answering = set()
    async for text in socket:
        frame = json.loads(text)
        if frame[0] == 2:
            received.append(frame[2])
            task = asyncio.create_task(answer(frame[1]))
            answering.add(task)
            task.add_done_callback(answering.discard)


async def test_control_keeps_cycling_while_a_station_is_slow_to_answer() -> None:
    """A station that takes 2 s to answer its limits must not hold the loop: a meter jump in
    the meantime has to be acted on at once."""
    received: list[str] = []
    async with (
        running_controller() as run,
        connect(f"{run.station_url}/CP-201", subprotocols=[Subprotocol("ocpp2.0.1")]) as slow,
    ):
        boot = {"reason": "PowerUp", "chargingStation": {"model": "M", "vendorName": "V"}}
        await slow.send(json.dumps([2, "boot-1", "BootNotification", boot]))
        answering = asyncio.create_task(_answer_slowly(slow, 2.0, received))
        await eventually(lambda: "SetChargingProfile" in received)
        loop = run.controller.loop
        assert loop is not None and loop.last is not None
        waiting_since_s = loop.last.monotonic_s
        await asyncio.sleep(1.0)  # no answer yet: all of it inside the station's delay
        # period_s is 0.1 s: the loop went on cycling (it used to wait for the answer).
        assert loop.last.monotonic_s - waiting_since_s >= 0.5
        answering.cancel()
