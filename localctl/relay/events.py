"""What the relay core tells its shell and the control loop, as typed events."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from localctl.relay.errors import Fault
from localctl.relay.frames import JsonObject, MessageType
from localctl.relay.versions import OcppVersion


class Side(Enum):
    """The two peers of a relay session."""

    STATION = "station"
    CSMS = "csms"

    # Members are singletons and Side equals nothing else, so identity is the hash: Enum's own
    # __hash__ is Python code, run several times per relayed frame by the dicts keyed by side.
    __hash__ = object.__hash__

    @property
    def other(self) -> Side:
        return Side.CSMS if self is Side.STATION else Side.STATION


@dataclass(slots=True)  # not frozen: see localctl.relay.frames.Call
class Outgoing:
    """A frame to transmit to `destination`."""

    destination: Side
    text: str


@dataclass(slots=True)  # not frozen: see localctl.relay.frames.Call
class FrameRelayed:
    """A frame from `source` went on to the other side (replies carry their call's action)."""

    source: Side
    message_type: MessageType
    action: str
    message_id: str
    payload: JsonObject


@dataclass(frozen=True, slots=True)
class OwnCallAnswered:
    """The station or CSMS answered one of the controller's own calls with a CALLRESULT."""

    message_id: str
    action: str
    payload: JsonObject


@dataclass(frozen=True, slots=True)
class OwnCallFailed:
    """One of the controller's own calls got a CALLERROR, timed out, was superseded or lost."""

    message_id: str
    action: str
    error_code: str
    description: str


@dataclass(frozen=True, slots=True)
class PeerFaulted:
    """`source` sent a frame that could not be parsed; `answered` if a CALLERROR went back."""

    source: Side
    fault: Fault
    description: str
    message_id: str | None
    answered: bool


@dataclass(frozen=True, slots=True)
class SchemaViolated:
    """A payload failed its schema; relayed anyway unless the session is strict."""

    source: Side
    action: str
    message_id: str
    fault: Fault
    description: str
    relayed: bool


@dataclass(frozen=True, slots=True)
class RelayedCallTimedOut:
    """A relayed call got no answer in time; the link moves on to the next call."""

    source: Side
    action: str
    message_id: str


@dataclass(frozen=True, slots=True)
class ReplyUnmatched:
    """A CALLRESULT or CALLERROR answered no call in flight; it was dropped."""

    source: Side
    message_id: str


@dataclass(frozen=True, slots=True)
class HandlerFailed:
    """A local handler raised; the caller got an InternalError CALLERROR."""

    source: Side
    action: str
    message_id: str
    error: str


@dataclass(frozen=True, slots=True)
class LinkOpened:
    """Both sockets of a station are up (emitted by the shell, not the core)."""

    version: OcppVersion


@dataclass(frozen=True, slots=True)
class LinkClosed:
    """A station's sockets are closed (emitted by the shell, not the core)."""


@dataclass(frozen=True, slots=True)
class PersistRequested:
    """Offline: store this station CALL durably, then call `RelaySession.persisted`."""

    action: str
    message_id: str
    frame_text: str
    needs_local_transaction_id: bool  # a 1.6 StartTransaction: hand out a local id


@dataclass(frozen=True, slots=True)
class ReplayAnswered:
    """The CSMS answered a replayed outbox entry: mark it delivered."""

    seq: int
    action: str
    result_text: str
    csms_transaction_id: str | None  # a replayed 1.6 StartTransaction's id from the CSMS


@dataclass(frozen=True, slots=True)
class ReplayAbandoned:
    """A replayed entry failed every attempt (CALLERROR or no answer); it is given up."""

    seq: int
    action: str
    reason: str


@dataclass(frozen=True, slots=True)
class ReplayFinished:
    """The backlog is delivered; held CSMS calls go to the station now."""


RelayEvent = (
    FrameRelayed
    | OwnCallAnswered
    | OwnCallFailed
    | PeerFaulted
    | SchemaViolated
    | RelayedCallTimedOut
    | ReplyUnmatched
    | HandlerFailed
    | PersistRequested
    | ReplayAnswered
    | ReplayAbandoned
    | ReplayFinished
)

LinkEvent = RelayEvent | LinkOpened | LinkClosed
"""What a listener of the relay shell hears: core events plus link lifecycle."""
