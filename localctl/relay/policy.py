"""Which OCPP action goes where, as a table rather than a chain of ifs.

Routes:
- RELAY: forward the call unchanged to the other side (OCPP 2.0.1 part 4, 6.4: the local
  controller relays every station-initiated message to the CSMS and vice versa);
- ANSWER_LOCALLY: a local handler answers the sender, nothing is forwarded (used by later
  features such as offline operation and the controller's own identity);
- REWRITE: relayed with a payload a rewriter returns, under the same message id, so the
  receiver's answer goes back to the caller as it is (used to keep CSMS profiles off the stack
  levels the controller reserves).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum

from localctl.relay.events import Side
from localctl.relay.frames import Call, JsonObject


class Route(Enum):
    RELAY = "relay"
    ANSWER_LOCALLY = "answer_locally"
    REWRITE = "rewrite"  # relay, with the payload a rewriter returns (the reply comes back as is)


@dataclass(frozen=True, slots=True)
class LocalAnswer:
    """What a local handler answers: a CALLRESULT payload, or a CALLERROR when `error_code`."""

    payload: JsonObject
    error_code: str | None = None
    error_description: str = ""


LocalHandler = Callable[[Call], LocalAnswer]
Rewriter = Callable[[Call], JsonObject | None]
"""Returns the payload to relay instead, or None to relay the call unchanged."""


@dataclass(frozen=True, slots=True)
class Policy:
    """Routes per sending side and action; anything not listed is relayed."""

    from_station: Mapping[str, Route] = field(default_factory=dict)
    from_csms: Mapping[str, Route] = field(default_factory=dict)
    handlers: Mapping[tuple[Side, str], LocalHandler] = field(default_factory=dict)
    rewriters: Mapping[tuple[Side, str], Rewriter] = field(default_factory=dict)

    def route(self, source: Side, action: str) -> Route:
        table = self.from_station if source is Side.STATION else self.from_csms
        return table.get(action, Route.RELAY)


TRANSPARENT = Policy()
"""Relay everything both ways unchanged."""
