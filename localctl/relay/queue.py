"""The sending queue of one link: OCPP-J allows one outstanding CALL per direction.

Every CALL towards a peer, whether relayed from the other side or the controller's own, waits
here until the call before it is answered or timed out. Replies are never queued: they answer
a call the peer has outstanding and go out at once.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from enum import Enum


class Origin(Enum):
    """Who a call in a sending queue belongs to."""

    PEER = "peer"  # relayed from the other side; its reply is forwarded back
    CONTROLLER = "controller"  # the controller's own; its reply is consumed
    REPLAY = "replay"  # a stored station call delivered late; its reply goes to the outbox


@dataclass(slots=True)
class OutboundCall:
    message_id: str
    action: str
    text: str
    origin: Origin
    timeout_s: float
    # Calls sharing a key replace each other while waiting: only the newest limit matters.
    coalesce_key: str | None = None
    deadline_s: float = float("inf")


class SendingQueue:
    """Calls towards one peer, at most one of them in flight."""

    def __init__(self) -> None:
        self._waiting: deque[OutboundCall] = deque()
        self.in_flight: OutboundCall | None = None

    def __len__(self) -> int:
        return len(self._waiting) + (self.in_flight is not None)

    def enqueue(self, call: OutboundCall) -> OutboundCall | None:
        """Queue `call`; returns the waiting call it superseded, if any."""
        if call.coalesce_key is not None:
            for index, waiting in enumerate(self._waiting):
                if waiting.coalesce_key == call.coalesce_key:
                    self._waiting[index] = call
                    return waiting
        self._waiting.append(call)
        return None

    def next_to_send(self, now_s: float) -> OutboundCall | None:
        """The next call to transmit, if the link is free; it becomes the call in flight."""
        if self.in_flight is not None or not self._waiting:
            return None
        call = self._waiting.popleft()
        call.deadline_s = now_s + call.timeout_s
        self.in_flight = call
        return call

    def settle(self, message_id: str) -> OutboundCall | None:
        """The call in flight with `message_id`, now answered; None if no such call is in flight."""
        call = self.in_flight
        if call is None or call.message_id != message_id:
            return None
        self.in_flight = None
        return call

    def expire(self, now_s: float) -> OutboundCall | None:
        """The call in flight if its deadline has passed; the link is then free again."""
        call = self.in_flight
        if call is None or now_s < call.deadline_s:
            return None
        self.in_flight = None
        return call

    def drain(self) -> list[OutboundCall]:
        """Every call still queued or in flight, removed (the connection is gone)."""
        calls = ([self.in_flight] if self.in_flight else []) + list(self._waiting)
        self._waiting.clear()
        self.in_flight = None
        return calls
