"""When a simulated station refuses a SetChargingProfile, as a table of rules.

Each rule names the reason a station gives (2.0.1 `statusInfo.reasonCode`; a 1.6 station
just answers Rejected) and the requirement it follows. The first rule that matches wins.
Rules marked 2.0.1-only are not in OCPP 1.6, whose stations are more lenient there.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from localctl.sim.profiles import Profile
from localctl.sim.quirks import StationQuirks

V16 = "1.6"
V201 = "2.0.1"
STATION_MAX_PURPOSES = frozenset({"ChargePointMaxProfile", "ChargingStationMaxProfile"})


@dataclass(frozen=True, slots=True)
class OfferContext:
    """What the station knows when a profile arrives for `profile.port`."""

    version: str
    ports: int
    transaction_id: str | None
    """The transaction running on the profile's port, if any."""
    quirks: StationQuirks
    installed: Sequence[Profile]


Check = Callable[[Profile, OfferContext], bool]


def _external(p: Profile, _: OfferContext) -> bool:
    # External constraints come from an external system through the station itself, never in
    # a SetChargingProfile from a local controller (K14.FR.06).
    return p.purpose == "ChargingStationExternalConstraints"


def _unknown_port(p: Profile, c: OfferContext) -> bool:
    return not 0 <= p.port <= c.ports


def _station_max_off_station(p: Profile, _: OfferContext) -> bool:
    return p.purpose in STATION_MAX_PURPOSES and p.port != 0


def _tx_on_station(p: Profile, _: OfferContext) -> bool:
    return p.purpose == "TxProfile" and p.port == 0


def _tx_not_running(p: Profile, c: OfferContext) -> bool:
    return p.purpose == "TxProfile" and c.transaction_id is None


def _tx_mismatch(p: Profile, c: OfferContext) -> bool:
    given = p.transaction_id
    return p.purpose == "TxProfile" and given is not None and given != c.transaction_id


def _tx_id_missing(p: Profile, c: OfferContext) -> bool:
    return c.version == V201 and p.purpose == "TxProfile" and p.transaction_id is None


def _stack_too_high(p: Profile, c: OfferContext) -> bool:
    return p.stack_level > c.quirks.max_stack_level


def _amps_to_watts_only(p: Profile, c: OfferContext) -> bool:
    return c.quirks.watts_only and p.rate_unit != "W"


def _periods_malformed(p: Profile, _: OfferContext) -> bool:
    starts = [period.start_s for period in p.periods]
    increasing = all(a < b for a, b in itertools.pairwise(starts))
    return not starts or starts[0] != 0 or not increasing


def _relative_station_max(p: Profile, c: OfferContext) -> bool:
    return c.version == V201 and p.purpose in STATION_MAX_PURPOSES and p.kind == "Relative"


def _start_missing(p: Profile, c: OfferContext) -> bool:
    return c.version == V201 and p.kind != "Relative" and not p.has_start_schedule


def _start_extraneous(p: Profile, c: OfferContext) -> bool:
    return c.version == V201 and p.kind == "Relative" and p.has_start_schedule


def _tx_stack_taken(p: Profile, c: OfferContext) -> bool:
    if c.version != V201 or p.purpose != "TxProfile":
        return False
    return any(
        other.purpose == "TxProfile"
        and other.stack_level == p.stack_level
        and other.transaction_id == p.transaction_id
        and other.profile_id != p.profile_id
        for other in c.installed
    )


RULES: tuple[tuple[str, str, Check], ...] = (
    ("InvalidProfile", "K14.FR.06", _external),
    ("UnknownEVSE", "K01.FR.28", _unknown_port),
    ("InvalidProfile", "1.6 3.13.1, K01.FR.03", _station_max_off_station),
    ("InvalidProfile", "K01.FR.16", _tx_on_station),
    ("TxNotFound", "1.6 3.13.4, K01.FR.09", _tx_not_running),
    ("TxNotFound", "K01.FR.33", _tx_mismatch),
    ("MissingTransactionId", "K01.FR.03 (2.0.1)", _tx_id_missing),
    ("InvalidStackLevel", "ChargeProfileMaxStackLevel", _stack_too_high),
    ("UnsupportedRateUnit", "K01.FR.26", _amps_to_watts_only),
    ("InvalidSchedule", "K01.FR.31, K01.FR.35", _periods_malformed),
    ("InvalidSchedule", "K01.FR.38 (2.0.1)", _relative_station_max),
    ("InvalidSchedule", "K01.FR.40 (2.0.1)", _start_missing),
    ("InvalidSchedule", "K01.FR.41 (2.0.1)", _start_extraneous),
    ("DuplicateProfile", "K01.FR.39 (2.0.1)", _tx_stack_taken),
)
"""(reason code, requirement, check): the station refuses when the check is true."""


def refusal_reason(profile: Profile, context: OfferContext) -> str | None:
    """Why the station refuses `profile`, or None when it accepts it."""
    return next((reason for reason, _, check in RULES if check(profile, context)), None)
