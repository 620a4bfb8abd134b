from __future__ import annotations

import pytest

from localctl.sim.profile_rules import V16, V201, OfferContext, refusal_reason
from localctl.sim.profiles import Period, Profile
from localctl.sim.quirks import StationQuirks
from tests.sim.profile_helpers import make_profile


def profile(purpose: str, port: int = 1, **fields: object) -> Profile:
    return make_profile(purpose, port=port, **fields)  # type: ignore[arg-type]


def context(
    version: str = V201,
    transaction_id: str | None = None,
    installed: tuple[Profile, ...] = (),
) -> OfferContext:
    return OfferContext(version, 2, transaction_id, StationQuirks(), installed)


@pytest.mark.parametrize(
    ("new", "ctx", "reason"),
    [
        (profile("TxDefaultProfile", port=0), context(), None),
        (profile("TxDefaultProfile", port=3), context(), "UnknownEVSE"),
        (profile("ChargingStationExternalConstraints", port=0), context(), "InvalidProfile"),
        (profile("ChargingStationMaxProfile", port=1), context(), "InvalidProfile"),
        (profile("ChargePointMaxProfile", port=0), context(V16), None),
        (profile("TxProfile", port=0), context(transaction_id="t"), "InvalidProfile"),
        (profile("TxProfile", transaction_id="t"), context(), "TxNotFound"),
        (profile("TxProfile", transaction_id="u"), context(transaction_id="t"), "TxNotFound"),
        (profile("TxProfile"), context(transaction_id="t"), "MissingTransactionId"),
        (profile("TxProfile"), context(V16, transaction_id="7"), None),
        (profile("TxProfile", transaction_id="t"), context(transaction_id="t"), None),
        (profile("TxDefaultProfile", periods=(Period(5, 6.0),)), context(), "InvalidSchedule"),
        (
            profile("TxDefaultProfile", periods=(Period(0, 6.0), Period(0, 8.0))),
            context(),
            "InvalidSchedule",
        ),
        (
            profile("ChargingStationMaxProfile", port=0, kind="Relative", has_start_schedule=False),
            context(),
            "InvalidSchedule",
        ),
        (profile("TxDefaultProfile", has_start_schedule=False), context(), "InvalidSchedule"),
        (profile("TxDefaultProfile", has_start_schedule=False), context(V16), None),
        (profile("TxDefaultProfile", kind="Relative"), context(), "InvalidSchedule"),
        (
            profile("TxProfile", profile_id=2, transaction_id="t"),
            context(transaction_id="t", installed=(profile("TxProfile", transaction_id="t"),)),
            "DuplicateProfile",
        ),
    ],
)
def test_station_refuses_profiles_the_specification_forbids(
    new: Profile, ctx: OfferContext, reason: str | None
) -> None:
    assert refusal_reason(new, ctx) == reason
