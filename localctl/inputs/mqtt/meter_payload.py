"""MQTT meter payloads, sans I/O: JSON from a device and configured paths to a `MeterReading`.

A path is dot-separated: on an object a part is a key, on a list it is a 0-based index
(`ENERGY.Current.0`, `emeters.2.current`, `em:0.a_current`). Keys that contain a dot cannot
be addressed. Values must be JSON numbers (not strings, not booleans) and finite.

Current is taken as a magnitude: some devices sign it with the direction of flow, and a fuse
carries both directions alike. Power keeps its sign (negative: export).

`parse_meter_payload` never raises on what the device sent: every problem is an `InputFault`.
"""

from __future__ import annotations

import math

import orjson

from localctl.inputs.mqtt.config import MqttMeterConfig, PhasePaths
from localctl.inputs.readings import InputFault, MeterReading, PhaseValues


class PathError(ValueError):
    """A path does not lead to a finite number in the document."""


def resolve_path(document: object, path: str) -> object:
    """The value at `path` in a parsed JSON document."""
    value = document
    for part in path.split("."):
        if isinstance(value, dict):
            if part not in value:
                raise PathError(f"{path}: no key {part!r}")
            value = value[part]
        elif isinstance(value, list):
            if not part.isdigit() or int(part) >= len(value):
                raise PathError(f"{path}: no index {part!r} in a list of {len(value)}")
            value = value[int(part)]
        else:
            raise PathError(f"{path}: {part!r} is below a {type(value).__name__}, not an object")
    return value


def number_at(document: object, path: str) -> float:
    value = resolve_path(document, path)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PathError(f"{path}: not a number ({value!r:.40})")
    if not math.isfinite(value):
        raise PathError(f"{path}: not finite ({value!r})")
    return float(value)


def phase_values(document: object, paths: PhasePaths, scale: float) -> PhaseValues:
    l1, l2, l3 = (number_at(document, path) * scale for path in paths)
    return (l1, l2, l3)


def parse_meter_payload(
    config: MqttMeterConfig, payload: bytes, *, monotonic_s: float, wall_time_s: float
) -> MeterReading | InputFault:
    """One device message as a reading, or the reason it is not one."""
    try:
        document = orjson.loads(payload)
    except orjson.JSONDecodeError as error:
        return InputFault(config.id, f"payload is not valid JSON: {error}", monotonic_s)
    try:
        current_a = phase_values(document, config.current_paths, config.current_scale)
        voltage_v = _optional(document, config.voltage_paths, config.voltage_scale)
        power_w = _optional(document, config.power_paths, config.power_scale)
    except PathError as error:
        return InputFault(config.id, str(error), monotonic_s)
    magnitude_a: PhaseValues = (abs(current_a[0]), abs(current_a[1]), abs(current_a[2]))
    return MeterReading(
        meter_id=config.id,
        node_id=config.node_id,
        current_a=magnitude_a,
        voltage_v=voltage_v,
        power_w=power_w,
        monotonic_s=monotonic_s,
        wall_time_s=wall_time_s,
    )


def _optional(document: object, paths: PhasePaths | None, scale: float) -> PhaseValues | None:
    return None if paths is None else phase_values(document, paths, scale)
