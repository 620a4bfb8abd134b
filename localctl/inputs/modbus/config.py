"""Configuration of Modbus TCP meters and of the EMS Modbus server."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from localctl.config.base import StrictModel
from localctl.inputs.modbus.registers import (
    BUILT_IN_MAPS,
    SUNSPEC_DEFAULT_MODEL_ADDRESS,
    DataType,
    FunctionCode,
    PhaseRegisters,
    Register,
    RegisterMap,
    WordOrder,
    sunspec_meter_map,
)

__all__ = [
    "CustomRegisterConfig",
    "CustomRegisterMapConfig",
    "MeterModel",
    "ModbusEmsServerConfig",
    "ModbusMeterConfig",
]

MeterModel = Literal[
    "eastron_sdm630",
    "carlo_gavazzi_em24",
    "abb_b23_b24",
    "janitza_umg604",
    "sunspec_201",
    "sunspec_202",
    "sunspec_203",
    "sunspec_204",
    "custom",
]


class CustomRegisterConfig(StrictModel):
    """One quantity of one phase in a custom register map."""

    address: int = Field(ge=0, le=65535, description="0-based register address on the wire")
    function_code: Literal[3, 4] = Field(
        description="3: read holding registers, 4: read input registers"
    )
    data_type: DataType = Field(description="int16, uint16, int32, uint32, float32 or float64")
    word_order: WordOrder = Field(
        WordOrder.BIG, description="big: most significant word first; little: least first"
    )
    scale: float = Field(
        1.0,
        allow_inf_nan=False,
        description="factor from the raw number to the SI unit (A, V or W), e.g. 0.001 for mA",
    )

    def to_register(self) -> Register:
        return Register(
            self.address,
            FunctionCode(self.function_code),
            self.data_type,
            self.word_order,
            self.scale,
        )


class CustomRegisterMapConfig(StrictModel):
    """A meter's registers, for meters without a built-in map."""

    current_a: tuple[CustomRegisterConfig, CustomRegisterConfig, CustomRegisterConfig] = Field(
        description="current of L1, L2, L3; the scale turns the raw number into A"
    )
    voltage_v: tuple[CustomRegisterConfig, CustomRegisterConfig, CustomRegisterConfig] | None = (
        Field(None, description="line-to-neutral voltage of L1, L2, L3 (V); null: not read")
    )
    power_w: tuple[CustomRegisterConfig, CustomRegisterConfig, CustomRegisterConfig] | None = Field(
        None, description="active power of L1, L2, L3 (W, import positive); null: not read"
    )
    max_block_words: int = Field(
        64, ge=1, le=125, description="largest single read (registers); 125 is the Modbus limit"
    )
    max_gap_words: int = Field(
        0,
        ge=0,
        description="unused registers one read may span (registers); 0: only adjacent ones, "
        "safest for meters that refuse reserved addresses",
    )

    def to_register_map(self, name: str) -> RegisterMap:
        def phases(
            triple: tuple[CustomRegisterConfig, CustomRegisterConfig, CustomRegisterConfig],
        ) -> PhaseRegisters:
            return (triple[0].to_register(), triple[1].to_register(), triple[2].to_register())

        return RegisterMap(
            name=name,
            source="configuration",
            current_a=phases(self.current_a),
            voltage_v=phases(self.voltage_v) if self.voltage_v else None,
            power_w=phases(self.power_w) if self.power_w else None,
            max_block_words=self.max_block_words,
            max_gap_words=self.max_gap_words,
        )


class ModbusMeterConfig(StrictModel):
    """A Modbus TCP meter measuring what flows through one node of the site tree."""

    id: str = Field(min_length=1, description="meter identity in logs, faults and telemetry")
    node_id: str = Field(min_length=1, description="the site-tree node whose flow it measures")
    host: str = Field(min_length=1, description="meter (or Modbus gateway) host name or address")
    port: int = Field(502, ge=0, le=65535, description="Modbus TCP port")
    unit_id: int = Field(1, ge=0, le=255, description="Modbus unit (slave) id behind the address")
    model: MeterModel = Field(description="built-in register map, or custom (see custom_map)")
    custom_map: CustomRegisterMapConfig | None = Field(
        None, description="the register map when model is custom"
    )
    sunspec_model_address: int | None = Field(
        None,
        ge=0,
        le=65535,
        description="sunspec_* models: 0-based address of the meter model's ID register; "
        "null: found on every connect by walking the device's SunSpec model list",
    )
    poll_interval_s: float = Field(1.0, gt=0, description="time between polls (s)")
    timeout_s: float = Field(
        2.0, gt=0, description="time a connect or a read may take before it counts as failed (s)"
    )
    reconnect_backoff_min_s: float = Field(
        0.5, gt=0, description="first wait before reconnecting after a failure (s)"
    )
    reconnect_backoff_max_s: float = Field(
        30.0, gt=0, description="longest wait between reconnect attempts (s); doubles up to it"
    )

    @model_validator(mode="after")
    def _map_and_backoff_consistent(self) -> ModbusMeterConfig:
        if (self.model == "custom") != (self.custom_map is not None):
            raise ValueError("custom_map is required with model custom, and only then")
        if self.reconnect_backoff_max_s < self.reconnect_backoff_min_s:
            raise ValueError("reconnect_backoff_max_s must be at least reconnect_backoff_min_s")
        return self

    def sunspec_model_id(self) -> int | None:
        """201 to 204 for the sunspec_* models, else None."""
        if not self.model.startswith("sunspec_"):
            return None
        return int(self.model.removeprefix("sunspec_"))

    def register_map(self) -> RegisterMap:
        """The register map this meter is read with (SunSpec: at the configured address, or
        the usual one until the model list has been walked)."""
        if self.custom_map is not None:
            return self.custom_map.to_register_map(f"custom:{self.id}")
        model_id = self.sunspec_model_id()
        if model_id is not None:
            address = self.sunspec_model_address
            return sunspec_meter_map(model_id, address or SUNSPEC_DEFAULT_MODEL_ADDRESS)
        return BUILT_IN_MAPS[self.model]


class ModbusEmsServerConfig(StrictModel):
    """A Modbus TCP server an energy-management system writes a limit to (docs/modbus.md)."""

    id: str = Field("ems-modbus", min_length=1, description="source label of the limits it takes")
    listen_host: str = Field("0.0.0.0", description="address to listen on")
    listen_port: int = Field(502, ge=0, le=65535, description="TCP port (0: any free port)")
    unit_id: int = Field(1, ge=0, le=247, description="Modbus unit id the server answers as")
    node_id: str = Field(min_length=1, description="the site-tree node the EMS limit applies to")
    heartbeat_timeout_s: float = Field(
        30.0,
        gt=0,
        description="the limit expires when the heartbeat register has not changed for this "
        "long (s)",
    )
    max_ttl_s: float = Field(
        3600.0,
        gt=0,
        description="largest value accepted in the TTL register (s); larger writes are refused "
        "(0 in that register: the limit lasts as long as the heartbeat runs)",
    )
    max_power_w: float = Field(
        10_000_000.0, gt=0, description="largest site limit accepted; larger writes are refused (W)"
    )
    max_current_a: float = Field(
        3_000.0, gt=0, description="largest per-phase limit accepted; larger writes are refused (A)"
    )
