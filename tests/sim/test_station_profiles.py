"""Stations applying and reporting profiles over OCPP, with quirks, on a simulated clock."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from ocpp.v16 import call as call16
from ocpp.v201 import call as call201

from localctl.sim import StubCsms
from localctl.sim.clock import SimClock
from localctl.sim.ocpp_glue import iso_utc
from localctl.sim.quirks import StationQuirks
from localctl.sim.station16 import SimStation16
from localctl.sim.station201 import SimStation201
from tests.sim.helpers import profile_201, tx_default_16, variable


async def until(condition: Callable[[], bool], timeout_s: float = 2.0) -> None:
    """The station installs a remote start's profile once the CSMS answered the start; no
    message follows that a test could wait for, so poll."""
    async with asyncio.timeout(timeout_s):
        while not condition():  # noqa: ASYNC110 (station state, not an event)
            await asyncio.sleep(0.005)


def station_max_16(limit_a: float, stack_level: int, profile_id: int, **extra: Any) -> Any:
    profile = {
        **tx_default_16(limit_a, stack_level=stack_level, profile_id=profile_id),
        "charging_profile_purpose": "ChargePointMaxProfile",
        **extra,
    }
    return call16.SetChargingProfile(connector_id=0, cs_charging_profiles=profile)


async def test_station16_composite_shows_the_lease_expiring_onto_the_floor(
    csms: StubCsms,
) -> None:
    clock = SimClock()
    lease_end = iso_utc(clock.now() + timedelta(seconds=120))
    async with SimStation16(csms.url, "CP", connectors=2, clock=clock.now) as station:
        await csms.call("CP", station_max_16(10.0, 7, 1))
        await csms.call("CP", station_max_16(40.0, 8, 2, valid_to=lease_end))
        composite = await csms.call("CP", call16.GetCompositeSchedule(connector_id=0, duration=600))
        clock.advance(120)
        after_a = station.current_limit_a(1)
    assert composite.charging_schedule["charging_schedule_period"] == [
        {"start_period": 0, "limit": 40.0},
        {"start_period": 120, "limit": 10.0},
    ]
    assert after_a == 10.0


async def test_watts_only_station16_announces_it_and_refuses_amps(csms: StubCsms) -> None:
    quirks = StationQuirks(watts_only=True)
    in_watts = {
        **tx_default_16(0.0),
        "charging_schedule": {
            "charging_rate_unit": "W",
            "charging_schedule_period": [{"start_period": 0, "limit": 6900.0}],
        },
    }
    async with SimStation16(csms.url, "CP", quirks=quirks) as station:
        key = await csms.call(
            "CP", call16.GetConfiguration(key=["ChargingScheduleAllowedChargingRateUnit"])
        )
        amps = await csms.call(
            "CP", call16.SetChargingProfile(connector_id=1, cs_charging_profiles=tx_default_16(6))
        )
        watts = await csms.call(
            "CP", call16.SetChargingProfile(connector_id=1, cs_charging_profiles=in_watts)
        )
        limit_a = station.current_limit_a(1)
    assert key.configuration_key[0]["value"] == "Power"
    assert (amps.status, watts.status, limit_a) == ("Rejected", "Accepted", 10.0)


async def test_station201_refuses_stack_levels_above_its_maximum(csms: StubCsms) -> None:
    quirks = StationQuirks(max_stack_level=3)
    async with SimStation201(csms.url, "CS", quirks=quirks):
        level = await csms.call(
            "CS",
            call201.GetVariables(
                get_variable_data=[variable("SmartChargingCtrlr", "ProfileStackLevel")]
            ),
        )
        answer = await csms.call(
            "CS",
            call201.SetChargingProfile(
                evse_id=1,
                charging_profile={**profile_201("TxDefaultProfile", 8.0), "stack_level": 4},
            ),
        )
    assert level.get_variable_result[0]["attribute_value"] == "3"
    assert (answer.status, answer.status_info) == (
        "Rejected",
        {"reason_code": "InvalidStackLevel"},
    )


async def test_slow_station201_reports_and_applies_a_profile_after_its_delay(
    csms: StubCsms,
) -> None:
    clock = SimClock()
    quirks = StationQuirks(slow_apply_s=5.0)
    async with SimStation201(csms.url, "CS", quirks=quirks, clock=clock.now) as station:
        answer = await csms.call(
            "CS",
            call201.SetChargingProfile(
                evse_id=1, charging_profile=profile_201("TxDefaultProfile", 8.0)
            ),
        )
        composite = await csms.call("CS", call201.GetCompositeSchedule(duration=60, evse_id=1))
        before_a = station.current_limit_a(1)
        clock.advance(5)
        after_a = station.current_limit_a(1)
    assert answer.status == "Accepted"
    assert composite.schedule["charging_schedule_period"] == [
        {"start_period": 0, "limit": 32.0},
        {"start_period": 5, "limit": 8.0},
    ]
    assert (before_a, after_a) == (32.0, 8.0)


async def test_station201_tx_profile_needs_the_running_transaction_and_ends_with_it(
    csms: StubCsms,
) -> None:
    async with SimStation201(csms.url, "CS") as station:
        await station.start_transaction(1, "TOKEN")
        running = station.transactions[1].transaction_id
        without_id = await csms.call(
            "CS",
            call201.SetChargingProfile(evse_id=1, charging_profile=profile_201("TxProfile", 6.0)),
        )
        with_id = await csms.call(
            "CS",
            call201.SetChargingProfile(
                evse_id=1, charging_profile=profile_201("TxProfile", 6.0, transaction_id=running)
            ),
        )
        during_a = station.current_limit_a(1)
        await station.stop_transaction(1, 100.0)
        after_a = station.current_limit_a(1)
    assert without_id.status_info == {"reason_code": "MissingTransactionId"}
    assert (with_id.status, during_a, after_a) == ("Accepted", 6.0, 32.0)


async def test_station201_reports_watts_for_its_phases(csms: StubCsms) -> None:
    async with SimStation201(csms.url, "CS", evses=2) as station:
        station.port_phases[2] = 1
        await csms.call(
            "CS",
            call201.SetChargingProfile(
                evse_id=0, charging_profile=profile_201("TxDefaultProfile", 10.0)
            ),
        )
        composite = await csms.call(
            "CS", call201.GetCompositeSchedule(duration=60, evse_id=2, charging_rate_unit="W")
        )
        unknown = await csms.call("CS", call201.GetCompositeSchedule(duration=60, evse_id=3))
    assert composite.schedule["charging_schedule_period"] == [
        {"start_period": 0, "limit": 2300.0, "number_phases": 1}
    ]
    assert unknown.status == "Rejected"


async def test_remote_start_with_a_profile_makes_it_the_transactions_tx_profile(
    csms: StubCsms,
) -> None:
    tx_profile = {**tx_default_16(8.0, profile_id=4), "charging_profile_purpose": "TxProfile"}
    async with SimStation16(csms.url, "CP") as station:
        refused = await csms.call(
            "CP",
            call16.RemoteStartTransaction(id_tag="APP", charging_profile=tx_default_16(8.0)),
        )
        started = await csms.call(
            "CP", call16.RemoteStartTransaction(id_tag="APP", charging_profile=tx_profile)
        )
        await until(lambda: bool(station.profiles.profiles))
        limit_a = station.current_limit_a(1)
        installed = station.profiles.profiles
    assert (refused.status, started.status, limit_a) == ("Rejected", "Accepted", 8.0)
    assert [p.transaction_id for p in installed] == [str(station.transaction_ids[1])]


async def test_request_start_with_a_profile_on_station201(csms: StubCsms) -> None:
    async with SimStation201(csms.url, "CS") as station:
        started = await csms.call(
            "CS",
            call201.RequestStartTransaction(
                id_token={"id_token": "APP", "type": "Central"},
                remote_start_id=3,
                charging_profile=profile_201("TxProfile", 7.0),
            ),
        )
        await until(lambda: bool(station.profiles.profiles))
        limit_a = station.current_limit_a(1)
    assert (started.status, limit_a) == ("Accepted", 7.0)


async def test_station16_accepts_a_tx_profile_right_behind_the_start_answer() -> None:
    """As a real charge point reads frames in order, the transaction id from the
    StartTransaction answer is known when the next frame, a TxProfile for it, arrives."""
    follow_ups: list[asyncio.Task[Any]] = []
    tx_profile = {
        **tx_default_16(10.0),
        "charging_profile_purpose": "TxProfile",
        "transaction_id": 1,
    }

    def right_behind_the_answer(identity: str, direction: str, text: str) -> None:
        if direction == "out" and text.startswith("[3,") and '"transactionId"' in text:
            payload = call16.SetChargingProfile(connector_id=1, cs_charging_profiles=tx_profile)
            follow_ups.append(asyncio.ensure_future(csms.call(identity, payload)))

    async with (
        StubCsms(on_frame=right_behind_the_answer) as csms,
        SimStation16(csms.url, "CP") as station,
    ):
        await station.start_transaction(1, "TOKEN")
        (answer,) = await asyncio.gather(*follow_ups)
        limit_a = station.current_limit_a(1)
    assert (answer.status, limit_a) == ("Accepted", 10.0)
