"""Payload builders shared by the simulator tests (snake_case, as `ocpp` dataclasses take them)."""

from __future__ import annotations


def actions(received: list[tuple[str, dict[str, object]]]) -> list[str]:
    return [action for action, _ in received]


def tx_default_16(limit_a: float, stack_level: int = 0, profile_id: int = 1) -> dict[str, object]:
    return {
        "charging_profile_id": profile_id,
        "stack_level": stack_level,
        "charging_profile_purpose": "TxDefaultProfile",
        "charging_profile_kind": "Relative",
        "charging_schedule": {
            "charging_rate_unit": "A",
            "charging_schedule_period": [{"start_period": 0, "limit": limit_a}],
        },
    }


def profile_201(
    purpose: str,
    limit: float,
    unit: str = "A",
    profile_id: int = 1,
    *,
    start_schedule: str | None = None,
    **extra: object,
) -> dict[str, object]:
    """Relative without `start_schedule`, else Absolute from it (K01.FR.40-41)."""
    schedule: dict[str, object] = {
        "id": 1,
        "charging_rate_unit": unit,
        "charging_schedule_period": [{"start_period": 0, "limit": limit}],
    }
    if start_schedule is not None:
        schedule["start_schedule"] = start_schedule
    return {
        "id": profile_id,
        "stack_level": 0,
        "charging_profile_purpose": purpose,
        "charging_profile_kind": "Relative" if start_schedule is None else "Absolute",
        "charging_schedule": [schedule],
        **extra,
    }


def variable(component: str, name: str, value: str | None = None) -> dict[str, object]:
    entry: dict[str, object] = {"component": {"name": component}, "variable": {"name": name}}
    if value is not None:
        entry["attribute_value"] = value
    return entry
