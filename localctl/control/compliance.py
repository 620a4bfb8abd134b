"""Stations that do not obey: detected, flagged, and planned around.

An EVSE is non-compliant when it draws more than its installed limit plus a tolerance for
longer than the reaction window (real stations and EVs take a few seconds to follow a new
limit), or when its station rejects the profile meant to limit it. While flagged, the
optimizer no longer counts on limiting it: its measured draw (or, if the station refuses
profiles, its maximum) is reserved as load at its node, so the other EVSEs absorb the error
instead of the fuse. The flag clears once it complies again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class NonCompliance:
    evse_id: str
    reason: str
    since_s: float


@dataclass
class ComplianceTracker:
    tolerance_a: float
    reaction_window_s: float
    _over_since_s: dict[str, float] = field(default_factory=dict)
    _rejecting: dict[str, float] = field(default_factory=dict)
    flagged: dict[str, NonCompliance] = field(default_factory=dict)

    def observe_draw(
        self, now_s: float, limits_a: Mapping[str, float], draws_a: Mapping[str, float]
    ) -> None:
        """`limits_a`: installed limit per EVSE; `draws_a`: its highest conductor current."""
        for evse_id, limit_a in limits_a.items():
            draw_a = draws_a.get(evse_id, 0.0)
            if draw_a <= limit_a + self.tolerance_a:
                self._over_since_s.pop(evse_id, None)
                if evse_id not in self._rejecting:
                    self.flagged.pop(evse_id, None)
                continue
            since_s = self._over_since_s.setdefault(evse_id, now_s)
            if now_s - since_s >= self.reaction_window_s and evse_id not in self.flagged:
                reason = f"draws {draw_a:.1f} A over its {limit_a:.1f} A limit"
                self.flagged[evse_id] = NonCompliance(evse_id, reason, since_s)

    def profile_answer(self, now_s: float, evse_ids: list[str], accepted: bool) -> None:
        """A station accepted or rejected the profile that limits `evse_ids`."""
        for evse_id in evse_ids:
            if accepted:
                self._rejecting.pop(evse_id, None)
                if evse_id not in self._over_since_s:
                    self.flagged.pop(evse_id, None)
            else:
                self._rejecting.setdefault(evse_id, now_s)
                self.flagged[evse_id] = NonCompliance(
                    evse_id, "rejects its charging profile", now_s
                )

    def refuses_profiles(self, evse_id: str) -> bool:
        return evse_id in self._rejecting
