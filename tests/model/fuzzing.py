"""Arbitrary JSON for the fuzz invariants: whatever a peer sends, parsers raise only the
peer's error (or nothing)."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
    | st.sampled_from(
        [
            "L1",
            "Outlet",
            "kWh",
            "A",
            "W",
            "Absolute",
            "Recurring",
            "Daily",
            "TxProfile",
            "ChargingStationMaxProfile",
            "Accepted",
            "2026-03-01T10:00:00Z",
        ]
    )
)
KEYS = st.sampled_from(
    [
        "connectorId",
        "evseId",
        "status",
        "transactionId",
        "meterValue",
        "sampledValue",
        "value",
        "measurand",
        "phase",
        "unit",
        "unitOfMeasure",
        "multiplier",
        "location",
        "timestamp",
        "eventType",
        "seqNo",
        "transactionInfo",
        "evse",
        "id",
        "chargingState",
        "chargingNeeds",
        "acChargingParameters",
        "chargingLimit",
        "chargingSchedule",
        "chargingSchedulePeriod",
        "startPeriod",
        "limit",
        "transactionData",
        "idToken",
        "connectorStatus",
        "chargingStation",
        "meterStart",
        "format",
        "csChargingProfiles",
        "chargingProfile",
        "chargingProfileId",
        "stackLevel",
        "chargingProfilePurpose",
        "chargingProfileKind",
        "chargingRateUnit",
        "startSchedule",
        "recurrencyKind",
        "chargingProfileCriteria",
        "schedule",
        "scheduleStart",
        "configurationKey",
        "unknownKey",
        "getVariableResult",
        "setVariableResult",
        "attributeStatus",
        "component",
        "variable",
        "name",
        "statusInfo",
        "reasonCode",
    ]
) | st.text(max_size=8)
JSON: st.SearchStrategy[Any] = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(KEYS, children, max_size=6),
    max_leaves=12,
)
PAYLOADS: st.SearchStrategy[dict[str, Any]] = st.dictionaries(KEYS, JSON, max_size=8)


def mutated(value: Any) -> st.SearchStrategy[Any]:
    """`value` with any part replaced by arbitrary JSON or dropped: near-valid payloads
    reach the code deep inside a parser that wholly random ones never do."""
    if isinstance(value, dict):
        parts = {key: mutated(item) for key, item in value.items()}
        kept = st.fixed_dictionaries({}, optional=parts)
        return JSON | kept | st.fixed_dictionaries(parts)
    if isinstance(value, list):
        return JSON | st.lists(st.one_of(*(mutated(item) for item in value)), max_size=3)
    return st.just(value) | JSON
