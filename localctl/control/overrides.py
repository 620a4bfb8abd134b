"""What an operator changed by hand, for the control loop to apply every cycle.

- a temporary limit on a node (current per phase and/or power), until it expires: one more
  `NodeLimit` named ``operator``, so an allocation it binds says ``node:main:L1:operator``;
- per EVSE: a priority, a departure time and an energy need that replace what the station
  reported (or the configured default priority) for the session there;
- per EVSE: paused. A paused EVSE's session leaves the optimizer (what it frees goes to the
  others) and the EVSE is held at 0 A, which suspends charging (1.6 3.13, 2.0.1 K01: a limit
  of 0 A); its limit then reads ``operator_pause``.

Pure state, no I/O: times are the control loop's monotonic clock. Every change calls
`on_change`, so the loop applies it at once rather than at its next period.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from localctl.control.limits import WantedLimits
from optimizer.model import NodeLimit, Session

OPERATOR_SOURCE = "operator"
PAUSED = "operator_pause"


@dataclass(frozen=True, slots=True)
class NodeOverride:
    node_id: str
    current_a: float | None
    power_w: float | None
    until_s: float
    """monotonic time at which the limit lapses"""

    def as_limit(self) -> NodeLimit:
        current = None if self.current_a is None else (self.current_a,) * 3
        return NodeLimit(OPERATOR_SOURCE, max_current_a=current, max_power_w=self.power_w)


@dataclass(frozen=True, slots=True)
class SessionOverride:
    """Fields left None keep what the station reported."""

    priority: int | None = None
    departure_s: float | None = None
    """monotonic time of departure"""
    energy_needed_wh: float | None = None

    def apply(self, session: Session) -> Session:
        return dataclasses.replace(
            session,
            priority=session.priority if self.priority is None else self.priority,
            departure_s=session.departure_s if self.departure_s is None else self.departure_s,
            energy_needed_wh=session.energy_needed_wh
            if self.energy_needed_wh is None
            else self.energy_needed_wh,
        )


class OperatorOverrides:
    """The operator's hand-made changes, consulted by the control loop each cycle."""

    def __init__(self) -> None:
        self.node_limits: dict[str, NodeOverride] = {}
        self.sessions: dict[str, SessionOverride] = {}
        self.paused: set[str] = set()
        self.on_change: Callable[[], None] | None = None

    # -- the operator's side ---------------------------------------------------------------

    def limit_node(self, override: NodeOverride) -> None:
        self.node_limits[override.node_id] = override
        self._changed()

    def clear_node_limit(self, node_id: str) -> bool:
        removed = self.node_limits.pop(node_id, None) is not None
        self._changed()
        return removed

    def set_session(self, evse_id: str, override: SessionOverride) -> None:
        if override == SessionOverride():
            self.sessions.pop(evse_id, None)
        else:
            self.sessions[evse_id] = override
        self._changed()

    def pause(self, evse_id: str) -> None:
        self.paused.add(evse_id)
        self._changed()

    def resume(self, evse_id: str) -> None:
        self.paused.discard(evse_id)
        self._changed()

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()

    # -- the control loop's side -----------------------------------------------------------

    def active_node_limits(self, now_s: float) -> dict[str, NodeLimit]:
        """Per node, the operator's limit still in force; expired ones are forgotten."""
        expired = [n for n, o in self.node_limits.items() if o.until_s <= now_s]
        for node_id in expired:
            del self.node_limits[node_id]
        return {node_id: o.as_limit() for node_id, o in self.node_limits.items()}

    def adjust(self, sessions: list[Session]) -> list[Session]:
        """The sessions the optimizer should see: paused ones left out, the rest overridden."""
        return [
            self.sessions[s.evse_id].apply(s) if s.evse_id in self.sessions else s
            for s in sessions
            if s.evse_id not in self.paused
        ]

    def label(self, wanted: WantedLimits) -> WantedLimits:
        """A paused EVSE holds 0 A (it has no session in the optimizer); say why."""
        if not self.paused:
            return wanted
        why: Mapping[str, str] = {
            evse_id: PAUSED if evse_id in self.paused else reason
            for evse_id, reason in wanted.why.items()
        }
        return dataclasses.replace(wanted, why=dict(why))
