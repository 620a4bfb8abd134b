"""Relayed frames for the translator tests, written as the JSON text peers send."""

from __future__ import annotations

from localctl.relay.events import FrameRelayed, Side
from localctl.relay.frames import Call, CallError, CallResult, MessageType, parse_frame
from localctl.relay.versions import OcppVersion


def relayed(
    text: str, version: OcppVersion, source: Side = Side.STATION, action: str = ""
) -> FrameRelayed:
    """The FrameRelayed the relay makes of `text` (`action`: the call a reply answers)."""
    frame = parse_frame(text, version)
    if isinstance(frame, Call):
        return FrameRelayed(
            source, frame.message_type, frame.action, frame.message_id, frame.payload
        )
    if isinstance(frame, CallResult):
        return FrameRelayed(source, MessageType.CALLRESULT, action, frame.message_id, frame.payload)
    assert isinstance(frame, CallError)
    return FrameRelayed(source, MessageType.CALLERROR, action, frame.message_id, {})
