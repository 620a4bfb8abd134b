"""The API's request and response bodies. FastAPI builds the OpenAPI document from them.

Currents in A per grid phase L1, L2, L3 (lists of three); powers in W; durations and ages in s;
times as RFC 3339 timestamps.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from localctl.model.commands import TriggerableMessage


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorOut(Body):
    detail: Any = Field(description="what was wrong: a message, or the validation errors")


# -- state -------------------------------------------------------------------------------------


class NodeLimitOut(Body):
    source: str = Field(description="fuse, ems-<source>, ems_safe, csms or operator")
    current_a: list[float] | None
    power_w: float | None


class NodeOut(Body):
    id: str
    kind: str
    parent: str | None
    children: list[str]
    limits: list[NodeLimitOut]
    measured_current_a: list[float] | None = Field(description="its meter, when it has one")
    meter_age_s: float | None
    ev_draw_a: list[float] = Field(description="what the EVSEs below it draw, as stations report")
    non_ev_load_a: list[float] = Field(description="what the optimizer counted as non-EV load")
    ev_load_a: list[float] = Field(description="EV allocation below it, worst case per phase")
    headroom_a: list[float | None] = Field(description="per phase; null: not limited")
    headroom_w: float | None


class SiteOut(Body):
    name: str
    nodes: list[NodeOut] = Field(description="root first, then depth first")
    last_cycle_age_s: float | None
    stations_connected: int


class EvseOut(Body):
    id: str
    node: str
    station_id: str | None
    ocpp_evse_id: int | None
    phases: int
    status: str | None
    transaction_id: str | None
    limit_a: float | None
    bound_by: str | None = Field(description="what bound the limit, e.g. node:main:L1:fuse")
    mode: str = Field(description="normal, hold (stale input) or floors (input lost)")
    mode_reason: str | None
    draw_a: list[float] = Field(description="measured, per grid phase")
    non_compliant: str | None
    paused: bool


class AllocationOut(Body):
    limit_a: float
    current_a: list[float] = Field(description="per EVSE conductor")
    grid_current_a: list[float]
    phases: int
    bound_by: str = Field(description="what stopped the optimizer")


class SessionOut(Body):
    evse_id: str
    station_id: str | None
    transaction_id: str | None
    connected_for_s: float | None
    priority: int
    departure_time: datetime | None
    energy_needed_wh: float | None
    ev_max_current_a: float | None
    limit_a: float | None
    overridden: list[str] = Field(description="fields set by an operator")


class ExplainOut(Body):
    evse: EvseOut
    explanation: str = Field(description="the answer to 'why does it get this much?'")
    allocation: AllocationOut | None = Field(description="the optimizer's answer; null: none")
    session: SessionOut | None
    floor_a: float | None = Field(description="its fallback floor")
    csms_limit_a: float | None = Field(description="what the CSMS's own profiles allow")
    binding_node: NodeOut | None


class StationEvseOut(Body):
    ocpp_evse_id: int
    evse_id: str
    status: str | None
    transaction_id: str | None


class StationOut(Body):
    id: str
    connected: bool
    configured: bool
    ocpp_version: str | None
    evses: list[StationEvseOut]
    queued_to_station: int | None
    queued_to_csms: int | None


class MeterOut(Body):
    id: str
    node: str
    status: str
    age_s: float | None
    current_a: list[float] | None
    last_fault: str | None


class EmsLimitOut(Body):
    node: str
    source: str
    power_w: float | None
    current_a: list[float] | None
    expired: bool
    valid_for_s: float


class InputsOut(Body):
    meters: list[MeterOut]
    ems_limits: list[EmsLimitOut]


class EventOut(Body):
    seq: int
    time: datetime
    kind: str
    message: str
    station_id: str | None
    details: dict[str, Any]


class HistorySample(Body):
    time: datetime
    measured_a: dict[str, list[float]] = Field(description="per metered node")
    allocated_a: dict[str, list[float]] = Field(description="EV allocation per node")


class HistoryOut(Body):
    interval_s: float
    limits_a: dict[str, list[float]] = Field(description="per node, its lowest current limit")
    samples: list[HistorySample]


# -- commands ----------------------------------------------------------------------------------


class NodeLimitIn(Body):
    # the schema says what the validator below checks: at least one limit that is a number
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "anyOf": [
                {"required": [name], "properties": {name: {"type": "number"}}}
                for name in ("current_a", "power_w")
            ]
        },
    )

    node_id: str | None = Field(None, description="null: the root of the site")
    current_a: float | None = Field(None, ge=0, le=100_000, description="per phase (A)")
    power_w: float | None = Field(None, ge=0, le=1e9, description="total (W)")
    duration_s: float = Field(gt=0, le=7 * 86400, description="how long it holds (s)")

    @model_validator(mode="after")
    def _something(self) -> NodeLimitIn:
        if self.current_a is None and self.power_w is None:
            raise ValueError("give current_a, power_w or both")
        return self


class ActiveLimitOut(Body):
    node_id: str
    current_a: float | None
    power_w: float | None
    expires_in_s: float


class EvseOverridesIn(Body):
    priority: int | None = Field(None, ge=-100, le=100, description="higher is served first")
    departure_time: datetime | None = Field(None, description="RFC 3339 with a time zone")
    energy_needed_wh: float | None = Field(None, ge=0, le=1e6)

    @model_validator(mode="after")
    def _aware(self) -> EvseOverridesIn:
        if self.departure_time is not None and self.departure_time.tzinfo is None:
            raise ValueError("departure_time needs a time zone")
        return self


class EvseOverridesOut(Body):
    evse_id: str
    priority: int | None
    departure_time: datetime | None
    energy_needed_wh: float | None
    paused: bool


class ConfigEntryOut(Body):
    key: str
    value: str | None
    read_only: bool | None
    evse_id: int | None
    data_type: str | None
    unit: str | None


class ConfigReadOut(Body):
    station_id: str
    ocpp_version: str
    status: str
    complete: bool
    detail: str | None
    entries: list[ConfigEntryOut]
    unknown_keys: list[str]


class ConfigKeysIn(Body):
    keys: list[str] = Field(min_length=1, max_length=100)


class ConfigChangeIn(Body):
    station_ids: list[str] = Field(min_length=1, max_length=1000)
    values: dict[str, str] = Field(min_length=1, max_length=100)


class ParameterResultOut(Body):
    key: str
    status: str = Field(
        description="the station's (Accepted, Rejected, RebootRequired, NotSupported, "
        "UnknownComponent, UnknownVariable, ...), a CALLERROR code, Timeout, NotConnected, "
        "or LockedByCsms, NotExpressible, Duplicate, NotAnswered"
    )
    value: str | None
    detail: str | None


class ConfigChangeOut(Body):
    results: dict[str, list[ParameterResultOut]] = Field(description="per station")


class RemoteStartIn(Body):
    evse_id: int | None = Field(None, ge=0)
    id_token: str = Field(min_length=1, max_length=20)


class RemoteStopIn(Body):
    transaction_id: str = Field(min_length=1, max_length=36)


class UnlockIn(Body):
    evse_id: int = Field(ge=0)
    connector_id: int = Field(1, ge=0)


class ResetIn(Body):
    hard: bool = Field(False, description="1.6 Hard / 2.0.1 Immediate; else Soft / OnIdle")


class TriggerIn(Body):
    message: TriggerableMessage
    evse_id: int | None = Field(None, ge=0)


class CommandOut(Body):
    station_id: str
    action: str
    status: str
    detail: str | None
