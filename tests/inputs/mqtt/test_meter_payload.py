from __future__ import annotations

import json

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from localctl.inputs.mqtt.config import MqttMeterConfig
from localctl.inputs.mqtt.meter_payload import (
    PathError,
    parse_meter_payload,
    resolve_path,
)
from localctl.inputs.readings import InputFault, MeterReading

TASMOTA = MqttMeterConfig(
    id="grid",
    node_id="main",
    topic="tele/meter/SENSOR",
    current_paths=("ENERGY.Current.0", "ENERGY.Current.1", "ENERGY.Current.2"),
    voltage_paths=("ENERGY.Voltage.0", "ENERGY.Voltage.1", "ENERGY.Voltage.2"),
    power_paths=("ENERGY.Power.0", "ENERGY.Power.1", "ENERGY.Power.2"),
)
TASMOTA_MESSAGE = {
    "Time": "2026-11-22T04:00:00",
    "ENERGY": {
        "Current": [12.5, 3.25, 0.5],
        "Voltage": [230, 231, 229],
        "Power": [2875, 750, -115],
    },
}
SHELLY_MILLIAMPS = MqttMeterConfig(
    id="sub",
    node_id="sub-a",
    topic="shellies/em3/status",
    current_paths=("emeters.0.current", "emeters.1.current", "emeters.2.current"),
    current_scale=0.001,
)


def parse(config: MqttMeterConfig, payload: bytes | object) -> MeterReading | InputFault:
    raw = payload if isinstance(payload, bytes) else orjson.dumps(payload)
    return parse_meter_payload(config, raw, monotonic_s=7.0, wall_time_s=1.8e9)


def fault(config: MqttMeterConfig, payload: bytes | object) -> str:
    result = parse(config, payload)
    assert isinstance(result, InputFault), result
    assert (result.input_id, result.monotonic_s) == (config.id, 7.0)
    return result.description


def test_tasmota_message_gives_per_phase_current_voltage_and_power() -> None:
    reading = parse(TASMOTA, TASMOTA_MESSAGE)
    assert reading == MeterReading(
        meter_id="grid",
        node_id="main",
        current_a=(12.5, 3.25, 0.5),
        voltage_v=(230.0, 231.0, 229.0),
        power_w=(2875.0, 750.0, -115.0),
        monotonic_s=7.0,
        wall_time_s=1.8e9,
    )


def test_scale_converts_to_si_and_current_is_a_magnitude() -> None:
    message = {"emeters": [{"current": 16000}, {"current": -8000}, {"current": 0}]}
    reading = parse(SHELLY_MILLIAMPS, message)
    assert isinstance(reading, MeterReading)
    assert reading.current_a == (16.0, 8.0, 0.0)
    assert (reading.voltage_v, reading.power_w) == (None, None)


@pytest.mark.parametrize(
    ("path", "document", "value"),
    [
        ("a", {"a": 1}, 1),
        ("a.b.c", {"a": {"b": {"c": 2}}}, 2),
        ("a.1", {"a": [0, 5]}, 5),
        ("0.x", [{"x": 3}], 3),
        ("em:0.a_current", {"em:0": {"a_current": 4.5}}, 4.5),
        ("m.0", {"m": {"0": 6}}, 6),  # on an object a digit is a key
    ],
)
def test_path_resolves_keys_and_list_indexes(path: str, document: object, value: object) -> None:
    assert resolve_path(document, path) == value


@pytest.mark.parametrize(
    ("path", "document", "words"),
    [
        ("a.c", {"a": {"b": 1}}, "no key 'c'"),
        ("a.3", {"a": [1, 2, 3]}, "no index '3' in a list of 3"),
        ("a.x", {"a": [1]}, "no index 'x'"),
        ("a.b", {"a": 5}, "below a int"),
    ],
)
def test_path_that_leads_nowhere_says_where_it_stopped(
    path: str, document: object, words: str
) -> None:
    with pytest.raises(PathError, match=words):
        resolve_path(document, path)


@pytest.mark.parametrize(
    ("payload", "words"),
    [
        (b"{oops", "not valid JSON"),
        (b"", "not valid JSON"),
        (b'{"ENERGY": {"Current": [1, NaN, 1]}}', "not valid JSON"),
        ({"ENERGY": {"Current": [1, 2]}}, "ENERGY.Current.2: no index"),
        ({"Energy": {}}, "no key 'ENERGY'"),
        ({"ENERGY": {"Current": [1, "2", 3]}}, "ENERGY.Current.1: not a number ('2')"),
        ({"ENERGY": {"Current": [1, True, 3]}}, "not a number (True)"),
        ({"ENERGY": {"Current": [1, None, 3]}}, "not a number (None)"),
        ({"ENERGY": {"Current": [1, {"v": 2}, 3]}}, "not a number"),
        ([1, 2, 3], "no index 'ENERGY'"),
        (b"42", "below a int"),
    ],
)
def test_malformed_message_is_a_fault_not_a_crash(payload: bytes | object, words: str) -> None:
    assert words in fault(TASMOTA, payload)


def test_infinity_from_a_huge_number_is_a_fault() -> None:
    message = b'{"ENERGY": {"Current": [1, 1e999, 1], "Voltage": [1, 1, 1], "Power": [1, 1, 1]}}'
    assert "is infinity" in fault(TASMOTA, message)


def test_missing_voltage_is_a_fault_when_voltage_paths_are_configured() -> None:
    message = {"ENERGY": {"Current": [1, 1, 1], "Power": [1, 1, 1]}}
    assert "no key 'Voltage'" in fault(TASMOTA, message)


json_values = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=16,
)


@given(st.binary(max_size=200))
def test_any_bytes_give_a_reading_or_a_fault(payload: bytes) -> None:
    assert isinstance(parse(TASMOTA, payload), MeterReading | InputFault)


@given(json_values)
def test_any_json_gives_a_reading_or_a_fault(document: object) -> None:
    # json, not orjson: it writes NaN and Infinity literals, as a careless device would
    result = parse(SHELLY_MILLIAMPS, json.dumps(document).encode())
    if isinstance(result, MeterReading):
        assert all(value >= 0 for value in result.current_a)
