"""Store and forward through a CSMS outage, sans-I/O: the state a RelaySession keeps for it.

OCPP 2.0.1 part 4, 6.3 as amended by the 2025-09 errata lets a local controller keep its
stations connected while the CSMS is unreachable, provided it answers them and forwards the
transaction-related requests once the CSMS is back. While the upstream socket is down (and
while the backlog is being delivered after it came back) the station's calls are decided by
the `OfflineResponder`: answered at once, refused, or persisted first and answered after.
Replay delivers the stored calls one at a time in their original order, under their original
message ids, retrying a CALLERROR or a missing answer as OCPP's transaction-message rules do
(1.6 TransactionMessageAttempts / TransactionMessageRetryInterval; 2.0.1 E12.FR.03/.04,
MessageAttemptsTransactionEvent), and holds the CSMS's own calls to the station until the
backlog is through, so the CSMS never acts on a station whose past it has not yet seen.

A 1.6 StartTransaction answered offline gets a negative local transactionId (the CSMS's are
positive, so the two never collide); the CSMS's id, learned when the StartTransaction is
replayed, replaces it in every later message in both directions (`TransactionIds`).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from localctl.offline.entries import OutboxEntry
from localctl.relay.frames import Call, JsonObject
from localctl.relay.offline import OfflineResponder

# Where a 1.6 transactionId sits, by the side that sends the call.
_STATION_ID_FIELDS = {"StopTransaction": ("transactionId",), "MeterValues": ("transactionId",)}
_CSMS_ID_FIELDS = {
    "RemoteStopTransaction": ("transactionId",),
    "SetChargingProfile": ("csChargingProfiles", "transactionId"),
}


class TransactionIds:
    """1.6 only: local transaction ids handed out offline and the CSMS's ids for them."""

    def __init__(self, known: Mapping[str, str] | None = None) -> None:
        self._to_csms: dict[str, str] = {}
        self._to_local: dict[str, str] = {}
        for local_id, csms_id in (known or {}).items():
            self.learn(local_id, csms_id)

    def __bool__(self) -> bool:
        return bool(self._to_csms)

    def learn(self, local_id: str, csms_id: str) -> None:
        self._to_csms[local_id] = csms_id
        self._to_local[csms_id] = local_id

    def towards_csms(self, action: str, payload: JsonObject) -> JsonObject | None:
        """The station's payload with local ids replaced, or None if nothing changes."""
        return _replace_id(payload, _STATION_ID_FIELDS.get(action), self._to_csms)

    def towards_station(self, action: str, payload: JsonObject) -> JsonObject | None:
        """The CSMS's payload with its ids replaced by the local ones the station knows."""
        return _replace_id(payload, _CSMS_ID_FIELDS.get(action), self._to_local)


def _replace_id(
    payload: JsonObject, path: tuple[str, ...] | None, mapping: dict[str, str]
) -> JsonObject | None:
    if path is None or not mapping:
        return None
    *parents, leaf = path
    node: object = payload
    for key in parents:
        node = node.get(key) if isinstance(node, dict) else None
    if not isinstance(node, dict) or leaf not in node:
        return None
    replacement = mapping.get(str(node[leaf]))
    if replacement is None:
        return None
    return _with_value(payload, path, int(replacement))


def _with_value(payload: JsonObject, path: tuple[str, ...], value: int) -> JsonObject:
    head, *rest = path
    copy = dict(payload)
    copy[head] = value if not rest else _with_value(copy[head], tuple(rest), value)
    return copy


@dataclass(frozen=True, slots=True)
class ReplayRules:
    """How often and how patiently a stored call is offered to the CSMS again."""

    attempts: int = 3
    retry_interval_s: float = 30.0  # times the attempt number, as 1.6 and 2.0.1 describe


@dataclass(slots=True)
class StoreAndForward:
    """One station's offline state; owned and driven by its RelaySession."""

    responder: OfflineResponder
    wall_clock: Callable[[], datetime]
    rules: ReplayRules = field(default_factory=ReplayRules)
    ids: TransactionIds = field(default_factory=TransactionIds)
    upstream_up: bool = True
    replaying: bool = False
    backlog: deque[OutboxEntry] = field(default_factory=deque)
    in_flight: OutboxEntry | None = None
    failed_attempts: int = 0
    retry_at_s: float = 0.0
    awaiting_persist: dict[str, Call] = field(default_factory=dict)
    held_csms_calls: list[tuple[Call, str | bytes]] = field(default_factory=list)
    _seen_seqs: set[int] = field(default_factory=set)

    @property
    def answers_locally(self) -> bool:
        """True while station calls are the controller's to answer: offline, or replaying."""
        return not self.upstream_up or self.replaying

    def lose_upstream(self) -> None:
        """The outbox stays the record of what is undelivered; replay restarts from it."""
        self.upstream_up = False
        self.replaying = False
        self.backlog.clear()
        self.in_flight = None
        self.failed_attempts = 0
        self.held_csms_calls.clear()

    def restore_upstream(
        self, pending: Iterable[OutboxEntry], known_ids: Mapping[str, str]
    ) -> None:
        self.upstream_up = True
        self.replaying = True
        for local_id, csms_id in known_ids.items():
            self.ids.learn(local_id, csms_id)
        self._seen_seqs.clear()
        self.backlog.clear()
        self.add_to_backlog(pending)

    def add_to_backlog(self, entries: Iterable[OutboxEntry]) -> None:
        for entry in entries:
            if entry.seq not in self._seen_seqs:  # pending() and persisted() may overlap
                self._seen_seqs.add(entry.seq)
                self.backlog.append(entry)

    def next_entry(self, now_s: float) -> OutboxEntry | None:
        """The entry to offer now, if one is due; it becomes the entry in flight."""
        if not self.replaying or self.in_flight is not None or not self.backlog:
            return None
        if now_s < self.retry_at_s:
            return None
        self.in_flight = self.backlog.popleft()
        return self.in_flight

    def settle(self) -> OutboxEntry:
        """The entry in flight was answered (or given up): the next may go."""
        entry = self.in_flight
        assert entry is not None, "settle() only with an entry in flight"
        self.in_flight = None
        self.failed_attempts = 0
        return entry

    def retry_later(self, now_s: float) -> bool:
        """The entry in flight failed; False once its attempts are used up."""
        entry = self.in_flight
        assert entry is not None, "retry_later() only with an entry in flight"
        self.failed_attempts += 1
        if self.failed_attempts >= self.rules.attempts:
            return False
        self.in_flight = None
        self.backlog.appendleft(entry)
        self.retry_at_s = now_s + self.rules.retry_interval_s * self.failed_attempts
        return True

    def backlog_delivered(self) -> bool:
        """Replay is through: nothing in flight, waiting, or still being stored."""
        return (
            self.replaying
            and self.in_flight is None
            and not self.backlog
            and not self.awaiting_persist
        )

    def retry_deadline_s(self) -> float | None:
        """When a refused entry may be offered again, if one is waiting for that."""
        if self.replaying and self.in_flight is None and self.backlog:
            return self.retry_at_s
        return None
