"""Meter and EMS server configuration: strict, with units, and the map it selects."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from localctl.inputs.modbus.config import ModbusEmsServerConfig, ModbusMeterConfig
from localctl.inputs.modbus.registers import BUILT_IN_MAPS, DataType, WordOrder

METER: dict[str, Any] = {
    "id": "grid",
    "node_id": "main",
    "host": "10.0.0.5",
    "model": "eastron_sdm630",
}
CUSTOM_MAP: dict[str, Any] = {
    "current_a": [
        {
            "address": 10 + 2 * phase,
            "function_code": 4,
            "data_type": "int32",
            "word_order": "little",
        }
        for phase in range(3)
    ],
}


def test_defaults_are_the_usual_modbus_tcp_settings() -> None:
    config = ModbusMeterConfig.model_validate(METER)
    assert (config.port, config.unit_id, config.poll_interval_s) == (502, 1, 1.0)
    assert config.register_map() is BUILT_IN_MAPS["eastron_sdm630"]


def test_every_field_describes_itself() -> None:
    for model in (ModbusMeterConfig, ModbusEmsServerConfig):
        for name, field in model.model_fields.items():
            assert field.description, f"{model.__name__}.{name}"


@pytest.mark.parametrize(
    "change",
    [
        {"colour": "red"},
        {"model": "sdm999"},
        {"model": "custom"},
        {"custom_map": CUSTOM_MAP},
        {"reconnect_backoff_min_s": 5.0, "reconnect_backoff_max_s": 1.0},
        {"poll_interval_s": 0},
        {"unit_id": 256},
    ],
    ids=[
        "unknown key",
        "unknown model",
        "custom without map",
        "map without custom",
        "backoff",
        "interval",
        "unit",
    ],
)
def test_invalid_meter_settings_are_refused(change: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        ModbusMeterConfig.model_validate({**METER, **change})


def test_custom_map_becomes_registers() -> None:
    config = ModbusMeterConfig.model_validate(
        {**METER, "model": "custom", "custom_map": CUSTOM_MAP}
    )
    register_map = config.register_map()
    l2 = register_map.current_a[1]
    assert l2 is not None
    assert (l2.address, l2.function_code, l2.data_type, l2.word_order) == (
        12,
        4,
        DataType.INT32,
        WordOrder.LITTLE,
    )
    assert register_map.voltage_v is None


def test_custom_scale_must_be_finite() -> None:
    bad = {"current_a": [{**CUSTOM_MAP["current_a"][0], "scale": float("nan")}] * 3}
    with pytest.raises(ValidationError):
        ModbusMeterConfig.model_validate({**METER, "model": "custom", "custom_map": bad})


def test_sunspec_models_use_the_configured_model_address() -> None:
    config = ModbusMeterConfig.model_validate(
        {**METER, "model": "sunspec_201", "sunspec_model_address": 200}
    )
    l1 = config.register_map().current_a[0]
    assert l1 is not None and l1.address == 203


def test_config_is_frozen() -> None:
    config = ModbusMeterConfig.model_validate(METER)
    with pytest.raises(ValidationError):
        config.port = 1502  # type: ignore[misc]
