"""Profiles and stores for the profile tests, built directly (no OCPP payloads)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from localctl.sim.profile_store import ProfileStore
from localctl.sim.profiles import Period, Profile

NOON = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return NOON + timedelta(seconds=seconds)


def make_profile(
    purpose: str = "TxDefaultProfile",
    limit: float = 16.0,
    *,
    port: int = 0,
    stack_level: int = 0,
    profile_id: int = 1,
    periods: tuple[Period, ...] | None = None,
    **fields: object,
) -> Profile:
    """An Absolute profile starting at NOON with one period of `limit` A (or `periods`)."""
    values: dict[str, object] = {
        "profile_id": profile_id,
        "port": port,
        "purpose": purpose,
        "stack_level": stack_level,
        "rate_unit": "A",
        "periods": periods or (Period(0, limit),),
        "start": NOON,
    }
    values.update(fields)
    return Profile(**values)  # type: ignore[arg-type]


def store_with(*profiles: Profile, ports: int = 2, **options: object) -> ProfileStore:
    store = ProfileStore(32.0, ports=ports, **options)  # type: ignore[arg-type]
    for each in profiles:
        store.install(each)
    return store
