"""What the controller answers a station itself while the CSMS is unreachable, sans-I/O.

OCPP 2.0.1 part 4, 6.3 as amended by the 2025-09 errata: the local controller may keep a
station connected when the CSMS connection is lost, if it answers the station's requests
itself and forwards the transaction-related ones once the CSMS is back. This module decides the
answers. Calls whose content the CSMS must still receive come back as `Persist`: the shell
writes them to the durable outbox first and answers only then (`answer_after_persist`), so
nothing a station was told is stored can be lost.

Authorization offline uses what the CSMS answered before (Authorize, and the idTagInfo of 1.6
StartTransaction or the idTokenInfo of 2.0.1 TransactionEvent), then the configured policy for
tokens it never saw.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from localctl.relay.events import FrameRelayed, Side
from localctl.relay.frames import Call, JsonObject, MessageType
from localctl.relay.versions import OcppVersion

UnknownTokenPolicy = Literal["accept", "reject"]

# Requests the CSMS must still get, in order, once it is back (forwarded after persisting).
_FORWARD_LATER: dict[OcppVersion, frozenset[str]] = {
    OcppVersion.V16: frozenset({"StartTransaction", "StopTransaction", "MeterValues"}),
    OcppVersion.V201: frozenset({"TransactionEvent", "MeterValues"}),
}


# Notifications whose answer carries no decision of the CSMS's: answered locally.
_NOTIFICATIONS = frozenset(
    {
        "StatusNotification",
        "NotifyEvent",
        "NotifyReport",
        "SecurityEventNotification",
        "FirmwareStatusNotification",
        "DiagnosticsStatusNotification",
        "LogStatusNotification",
        "NotifyChargingLimit",
        "NotifyEVChargingNeeds",
    }
)


@dataclass(frozen=True, slots=True)
class Answer:
    """Answer the station with `payload` at once."""

    payload: JsonObject


@dataclass(frozen=True, slots=True)
class Persist:
    """Store the call durably, then answer with `answer_after_persist`."""

    call: Call
    needs_local_transaction_id: bool


@dataclass(frozen=True, slots=True)
class Refuse:
    """Answer with a CALLERROR: nothing sensible can be said without the CSMS."""

    error_code: str
    description: str


Decision = Answer | Persist | Refuse


class OfflineResponder:
    """One station's offline answers; `observe` every relayed frame while online."""

    def __init__(
        self,
        version: OcppVersion,
        *,
        heartbeat_interval_s: int = 300,
        unknown_token_policy: UnknownTokenPolicy = "reject",
        accepted_tokens: frozenset[str] = frozenset(),
    ) -> None:
        self.version = version
        self.heartbeat_interval_s = heartbeat_interval_s
        self._unknown_token_policy = unknown_token_policy
        self._token_status: dict[str, str] = dict.fromkeys(accepted_tokens, "Accepted")
        self._pending_tokens: dict[str, str] = {}

    # -- learning while online ---------------------------------------------------------------

    def observe(self, event: FrameRelayed) -> None:
        """Learn token statuses and the heartbeat interval from the CSMS's answers."""
        if event.message_type is MessageType.CALL and event.source is Side.STATION:
            token = _token_of(event.action, event.payload)
            if token is not None:
                self._pending_tokens[event.message_id] = token
        elif event.message_type is MessageType.CALLRESULT and event.source is Side.CSMS:
            self._learn(event)

    def _learn(self, event: FrameRelayed) -> None:
        if event.action == "BootNotification":
            interval = event.payload.get("interval")
            if isinstance(interval, int) and interval > 0:
                self.heartbeat_interval_s = interval
        token = self._pending_tokens.pop(event.message_id, None)
        info = event.payload.get("idTagInfo") or event.payload.get("idTokenInfo")
        if token is not None and isinstance(info, dict) and isinstance(info.get("status"), str):
            self._token_status[token] = info["status"]

    # -- answering while offline -------------------------------------------------------------

    def decide(self, call: Call, now: datetime) -> Decision:
        if call.action in _FORWARD_LATER[self._codec_version()]:
            local_id = self.version is OcppVersion.V16 and call.action == "StartTransaction"
            return Persist(call, needs_local_transaction_id=local_id)
        stamp = now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        if call.action == "Heartbeat":
            return Answer({"currentTime": stamp})
        if call.action == "BootNotification":
            interval = self.heartbeat_interval_s
            return Answer({"status": "Accepted", "currentTime": stamp, "interval": interval})
        if call.action == "Authorize":
            return Answer(self._authorization(call.payload))
        if call.action in _NOTIFICATIONS:
            return Answer(_empty_result(self.version, call.action))
        code = "GenericError" if self.version is OcppVersion.V16 else "InternalError"
        return Refuse(code, f"{call.action} cannot be answered while the CSMS is unreachable")

    def answer_after_persist(self, call: Call, local_transaction_id: int | None) -> JsonObject:
        """The answer once `call` is durably stored."""
        if call.action == "StartTransaction":
            info = self._id_info(str(call.payload.get("idTag", "")))
            return {"idTagInfo": info, "transactionId": local_transaction_id or 0}
        if call.action == "TransactionEvent":
            token = call.payload.get("idToken")
            if isinstance(token, dict) and isinstance(token.get("idToken"), str):
                return {"idTokenInfo": self._id_info(token["idToken"])}
        return {}

    def _authorization(self, payload: JsonObject) -> JsonObject:
        if self.version is OcppVersion.V16:
            return {"idTagInfo": self._id_info(str(payload.get("idTag", "")))}
        token = payload.get("idToken")
        value = token.get("idToken", "") if isinstance(token, dict) else ""
        return {"idTokenInfo": self._id_info(str(value))}

    def _id_info(self, token: str) -> JsonObject:
        status = self._token_status.get(token)
        if status is None and self._unknown_token_policy == "accept":
            status = "Accepted"
        elif status is None:  # 1.6 has no "Unknown" status; Invalid is its nearest
            status = "Invalid" if self.version is OcppVersion.V16 else "Unknown"
        return {"status": status}

    def _codec_version(self) -> OcppVersion:
        return OcppVersion.V16 if self.version is OcppVersion.V16 else OcppVersion.V201


def retry_key(action: str, payload: JsonObject) -> str | None:
    """What identifies a stored message when the station sends it again, if not its frame.

    OCPP 2.0.1 requires a new message id for every resend (part 4, 4.1.4), and numbers each
    TransactionEvent of an EVSE with a seqNo that grows by one per message (E01.FR.07,
    E04.FR.04): its transactionId and seqNo name it. 1.6 may resend under the same id (OCPP-J
    1.6 errata), so the frame itself is the key there (None)."""
    if action != "TransactionEvent":
        return None
    info = payload.get("transactionInfo")
    seq_no = payload.get("seqNo")
    if not isinstance(info, dict) or not isinstance(seq_no, int) or isinstance(seq_no, bool):
        return None
    transaction_id = info.get("transactionId")
    if not isinstance(transaction_id, str):
        return None
    return f"{seq_no}@{transaction_id}"


def _token_of(action: str, payload: JsonObject) -> str | None:
    if action in ("Authorize", "StartTransaction") and isinstance(payload.get("idTag"), str):
        return str(payload["idTag"])
    token = payload.get("idToken")
    if action in ("Authorize", "TransactionEvent") and isinstance(token, dict):
        value = token.get("idToken")
        return value if isinstance(value, str) else None
    return None


def _empty_result(version: OcppVersion, action: str) -> JsonObject:
    """Responses to these notifications carry nothing (1.6 and 2.0.1 schemas), except 2.0.1
    NotifyEVChargingNeeds, whose status says whether a schedule will follow."""
    if action == "NotifyEVChargingNeeds" and version is not OcppVersion.V16:
        return {"status": "Rejected"}
    return {}
