"""The EMS register rules without a socket: exact times, refusals, published words."""

from __future__ import annotations

import math

import pytest

from localctl.inputs.modbus.config import ModbusEmsServerConfig
from localctl.inputs.modbus.ems_registers import (
    ControllerStatus,
    EmsLimitRegisters,
    EmsLimitState,
    LimitValues,
    SiteSnapshot,
    input_words,
)

CONFIG = ModbusEmsServerConfig(node_id="main", heartbeat_timeout_s=10.0, max_current_a=63.0)
POWER_11KW = [0x0000, 11_000]


def registers() -> EmsLimitRegisters:
    return EmsLimitRegisters(CONFIG)


def test_no_limit_until_one_is_written() -> None:
    ems = registers()
    ems.write(6, [1], now_s=100.0)  # a heartbeat alone carries no limit
    assert ems.limit(100.0) is None
    assert ems.state(100.0) is EmsLimitState.NONE


def test_a_limit_lasts_the_heartbeat_timeout_after_the_last_sign_of_life() -> None:
    ems = registers()
    ems.write(0, POWER_11KW, now_s=100.0)
    assert ems.limit(100.0) == LimitValues(11_000.0, None, 110.0)
    ems.write(6, [1], now_s=105.0)
    assert ems.limit(109.9) == LimitValues(11_000.0, None, 115.0)
    assert ems.limit(115.0) is None
    assert ems.state(115.0) is EmsLimitState.EXPIRED


def test_ttl_ends_a_limit_before_the_heartbeat_would() -> None:
    ems = registers()
    ems.write(0, [*POWER_11KW, 0x8000, 0x8000, 0x8000, 3], now_s=100.0)
    ems.write(6, [1], now_s=102.0)
    limit = ems.limit(102.0)
    assert limit is not None and limit.valid_until_s == 103.0


def test_rewriting_the_limit_restarts_its_ttl() -> None:
    ems = registers()
    ems.write(0, [*POWER_11KW, 0x8000, 0x8000, 0x8000, 3], now_s=100.0)
    ems.write(0, POWER_11KW, now_s=102.0)
    limit = ems.limit(102.0)
    assert limit is not None and limit.valid_until_s == 105.0


@pytest.mark.parametrize(
    ("address", "words", "problem"),
    [
        (0, [0xFFFF, 0xFFFF], "site limit -1 W"),
        (2, [631], "L1 limit 63.1 A outside 0..63 A"),
        (5, [3601], "TTL 3601 s above 3600 s"),
    ],
)
def test_problems_name_the_register_and_the_bound(
    address: int, words: list[int], problem: str
) -> None:
    found = registers().problem(address, words)
    assert found is not None and problem in found


def test_the_largest_allowed_values_are_no_problem() -> None:
    assert registers().problem(2, [630, 630, 630, 3600]) is None


def test_input_words_encode_tenths_clamp_and_mark_unknown() -> None:
    snapshot = SiteSnapshot(
        current_a=(math.nan, 5000.0, -1.25),
        allocated_current_a=(0.0, 0.04, 16.0),
        active_sessions=70_000,
        status=ControllerStatus.FALLBACK,
    )
    words = input_words(snapshot, EmsLimitState.ACTIVE)
    assert words == [0x8000, 0x7FFF, 0xFFF4, 0, 0, 160, 0xFFFF, 3, 1]
