"""StationTranslator: one per station, relayed frames in, model events out.

The translator keeps the payload of each pending call whose answer it must read (1.6
StartTransaction's transaction id comes in the CSMS's CALLRESULT) by the caller's side and
message id, and forgets it when the answer, a CALLERROR, or too many newer calls arrive.

Contract: `observe` never raises on anything a peer sent. A payload it cannot read yields a
`TranslationProblem` and nothing else; actions it has no use for yield nothing.
"""

from __future__ import annotations

from collections import OrderedDict

from localctl.model.errors import UnreadablePayloadError
from localctl.model.events import ModelEvent, TranslationProblem
from localctl.model.payload import JsonObject
from localctl.model.tracking import TransactionTracker
from localctl.model.translate16 import ON_CALL_16, ON_RESULT_16
from localctl.model.translate201 import ON_CALL_201
from localctl.relay.events import FrameRelayed, Side
from localctl.relay.frames import MessageType
from localctl.relay.versions import OcppVersion

# One call in flight per direction (OCPP-J), so a handful is plenty even with timeouts.
_MAX_PENDING_CALLS = 16


class StationTranslator:
    """Turns one station's relayed frames into version-independent events."""

    def __init__(self, station_id: str, version: OcppVersion) -> None:
        self.station_id = station_id
        self.version = version
        # 2.1 is a superset of 2.0.1 for everything translated here.
        self._on_call = ON_CALL_16 if version is OcppVersion.V16 else ON_CALL_201
        self._on_result = ON_RESULT_16 if version is OcppVersion.V16 else {}
        self._tracker = TransactionTracker()
        self._pending: OrderedDict[tuple[Side, str], tuple[str, JsonObject]] = OrderedDict()

    def observe(self, event: FrameRelayed) -> list[ModelEvent]:
        """The model events one relayed frame means."""
        try:
            if event.message_type is MessageType.CALL:
                return self._observe_call(event)
            if event.message_type is MessageType.CALLRESULT:
                return self._observe_result(event)
        except UnreadablePayloadError as exc:
            problem = TranslationProblem(self.station_id, event.action, event.message_id, str(exc))
            return [problem]
        self._pending.pop((event.source.other, event.message_id), None)  # CALLERROR
        return []

    def _observe_call(self, event: FrameRelayed) -> list[ModelEvent]:
        if event.source is not Side.STATION or not isinstance(event.payload, dict):
            return []
        if event.action in self._on_result:
            self._remember(event)
        handler = self._on_call.get(event.action)
        return [] if handler is None else handler(self.station_id, self._tracker, event.payload)

    def _observe_result(self, event: FrameRelayed) -> list[ModelEvent]:
        pending = self._pending.pop((event.source.other, event.message_id), None)
        if pending is None or not isinstance(event.payload, dict):
            return []
        action, call_payload = pending
        handler = self._on_result[action]
        return handler(self.station_id, self._tracker, call_payload, event.payload)

    def _remember(self, event: FrameRelayed) -> None:
        self._pending[(event.source, event.message_id)] = (event.action, event.payload)
        while len(self._pending) > _MAX_PENDING_CALLS:
            self._pending.popitem(last=False)
