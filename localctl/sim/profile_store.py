"""The charging profiles installed on one simulated station, and the limits they give.

Composition (OCPP 1.6 section 3.13.2, OCPP 2.0.1 SC.01 and K01):
- Within a purpose, the profile with the highest stack level that is valid and running at
  that moment wins; at the same stack level a profile for the port beats one for port 0.
- TxProfile (for the port's running transaction) overrides TxDefaultProfile; their winner
  limits the port, together with the port's hardware maximum.
- ChargePointMaxProfile / ChargingStationMaxProfile on port 0 cap the whole station: the sum
  of what its ports are offered, per phase (see `sharing.py`).
- A station with `slow_apply_s` keeps an accepted profile pending until its time comes; the
  profile it replaces stays in force until then.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime, timedelta

from localctl.sim.profile_rules import STATION_MAX_PURPOSES, OfferContext, refusal_reason
from localctl.sim.profiles import Profile
from localctl.sim.quirks import COMPLIANT, StationQuirks

UNLIMITED_A = float("inf")
TX_PURPOSES_BY_PRECEDENCE = ("TxProfile", "TxDefaultProfile")


def _replaced_by(old: Profile, new: Profile) -> bool:
    """Same id, or same port, purpose and stack level (1.6 section 5.16, K01.FR.05)."""
    same_slot = (old.port, old.purpose, old.stack_level) == (new.port, new.purpose, new.stack_level)
    same_transaction = old.purpose != "TxProfile" or old.transaction_id == new.transaction_id
    return old.profile_id == new.profile_id or (same_slot and same_transaction)


def _with(profiles: Iterable[Profile], new: Profile) -> list[Profile]:
    return [*(p for p in profiles if not _replaced_by(p, new)), new]


def _winner_a(profiles: Iterable[Profile], ports: tuple[int, ...], now: datetime) -> float:
    # Ties on stack level go to the higher port number: the port's own profile over port 0's.
    candidates = [
        (p.stack_level, p.port, limit)
        for p in profiles
        if p.port in ports and (limit := p.limit_a_at(now)) is not None
    ]
    return max(candidates)[2] if candidates else UNLIMITED_A


class ProfileStore:
    """Installed (and, on a slow station, pending) profiles of one station.

    `max_current_a` is the hardware maximum per port unless `port_max_a` names the port.
    """

    def __init__(
        self,
        max_current_a: float,
        *,
        ports: int = 1,
        quirks: StationQuirks = COMPLIANT,
        port_max_a: Mapping[int, float] | None = None,
    ) -> None:
        self.max_current_a = max_current_a
        self.ports = ports
        self.quirks = quirks
        self.port_max_a = dict(port_max_a or {})
        self.profiles: list[Profile] = []
        self.pending: list[tuple[datetime, Profile]] = []

    # -- changes ------------------------------------------------------------------------

    def offer(
        self, profile: Profile, now: datetime, *, version: str, transaction_id: str | None
    ) -> str | None:
        """Install `profile` if the station accepts it; otherwise the reason it refuses."""
        self.settle(now)
        installed = [*self.profiles, *(p for _, p in self.pending)]
        context = OfferContext(version, self.ports, transaction_id, self.quirks, installed)
        reason = refusal_reason(profile, context)
        if reason is None:
            self.install(profile, now + timedelta(seconds=self.quirks.slow_apply_s))
        return reason

    def install(self, profile: Profile, applies_at: datetime | None = None) -> None:
        """Install now, or keep pending until `applies_at` on a slow station."""
        if applies_at is None or self.quirks.slow_apply_s == 0:
            self.profiles = _with(self.profiles, profile)
        else:
            self.pending.append((applies_at, profile))

    def settle(self, now: datetime) -> None:
        """Apply the pending profiles whose time has come."""
        self.profiles = self.in_force(now)
        self.pending = [(due, p) for due, p in self.pending if due > now]

    def clear(
        self,
        profile_id: int | None = None,
        port: int | None = None,
        purpose: str | None = None,
        stack_level: int | None = None,
    ) -> int:
        """Remove the profiles matching every criterion given; returns how many went."""
        wanted = {"profile_id": profile_id, "port": port, "purpose": purpose}
        wanted["stack_level"] = stack_level
        criteria = {name: value for name, value in wanted.items() if value is not None}

        def matches(p: Profile) -> bool:
            return all(getattr(p, name) == value for name, value in criteria.items())

        before = len(self.profiles) + len(self.pending)
        self.profiles = [p for p in self.profiles if not matches(p)]
        self.pending = [(due, p) for due, p in self.pending if not matches(p)]
        return before - len(self.profiles) - len(self.pending)

    # -- limits -------------------------------------------------------------------------

    def in_force(self, now: datetime) -> list[Profile]:
        """The installed profiles as they stand at `now`, pending ones applied if due."""
        profiles = list(self.profiles)
        for due, profile in self.pending:
            if due <= now:
                profiles = _with(profiles, profile)
        return profiles

    def hardware_a(self, port: int) -> float:
        return self.port_max_a.get(port, self.max_current_a)

    def port_limit_a(self, port: int, now: datetime) -> float:
        """What the port's own profiles (TxProfile, else TxDefaultProfile) allow, per phase."""
        profiles = self.in_force(now)
        tx = _winner_a((p for p in profiles if p.purpose == "TxProfile"), (port,), now)
        if tx == UNLIMITED_A:
            defaults = (p for p in profiles if p.purpose == "TxDefaultProfile")
            tx = _winner_a(defaults, (0, port), now)
        return min(self.hardware_a(port), tx)

    def station_cap_a(self, now: datetime) -> float:
        """The station-wide cap per phase on the sum of its ports; inf without one."""
        profiles = self.in_force(now)
        caps = [
            _winner_a((p for p in profiles if p.purpose == purpose), (0,), now)
            for purpose in STATION_MAX_PURPOSES
        ]
        return min(caps)

    def limit_a(self, port: int, now: datetime) -> float:
        """The most port `port` may draw at `now` per phase; port 0: the whole station."""
        if port == 0:
            ports_total_a = sum(self.port_limit_a(p, now) for p in range(1, self.ports + 1))
            return min(self.station_cap_a(now), ports_total_a)
        return min(self.port_limit_a(port, now), self.station_cap_a(now))

    def changes_between(self, begin: datetime, end: datetime) -> Iterator[datetime]:
        """Moments in (begin, end) where some limit may change."""
        for due, profile in self.pending:
            if begin < due < end:
                yield due
            yield from profile.changes_between(begin, end)
        for profile in self.profiles:
            yield from profile.changes_between(begin, end)
