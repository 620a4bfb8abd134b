"""Riding out a CSMS outage for one station: the asyncio half of store and forward.

The session (`localctl.relay.store_forward`) decides; this writes to and reads from the
durable outbox and reopens the upstream socket:
- a `PersistRequested` call is appended (with a fresh negative transactionId for a 1.6
  StartTransaction) and only then answered; appends run one at a time, in arrival order;
- once a new upstream socket is open, the station's undelivered entries and its id map are
  read under the same lock and handed to the session, so an entry is never both replayed from
  the file and added again by a late append;
- replayed entries are acknowledged in the file as the CSMS answers them (an abandoned one
  with the reason), mapping a replayed StartTransaction's id in the same write;
- reconnect attempts back off exponentially with jitter, so a site full of stations does not
  hammer a recovering CSMS in step, and wait at least as long as a 429 or 503 refusal's
  Retry-After asks (the reopen itself goes through the relay's `UpstreamPacer`).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any

import orjson
from websockets.exceptions import InvalidHandshake, InvalidStatus

from localctl.backoff import Backoff
from localctl.io.direct import DirectClientConnection
from localctl.io.pacing import retry_after_s
from localctl.offline import Outbox, OutboxEntry, OutboxError
from localctl.relay.events import PersistRequested, ReplayAbandoned, ReplayAnswered
from localctl.relay.frames import Call, parse_frame
from localctl.relay.offline import OfflineResponder, UnknownTokenPolicy, retry_key
from localctl.relay.session import RelaySession
from localctl.relay.store_forward import ReplayRules, StoreAndForward
from localctl.relay.versions import OcppVersion

log = logging.getLogger("localctl.relay")

_PAGE = 500


@dataclass(frozen=True, slots=True)
class OutageSettings:
    """What every station's link shares for offline operation."""

    outbox: Outbox
    reconnect_min_s: float = 1.0
    reconnect_max_s: float = 60.0
    replay: ReplayRules = field(default_factory=ReplayRules)
    unknown_token_policy: UnknownTokenPolicy = "reject"
    accepted_tokens: frozenset[str] = frozenset()
    wall: Callable[[], float] = time.time
    rng: random.Random = field(default_factory=random.Random)

    def store_and_forward(self, version: OcppVersion) -> StoreAndForward:
        """A new session's offline state."""
        responder = OfflineResponder(
            version,
            unknown_token_policy=self.unknown_token_policy,
            accepted_tokens=self.accepted_tokens,
        )
        wall = self.wall
        return StoreAndForward(responder, lambda: datetime.fromtimestamp(wall(), UTC), self.replay)


UpstreamOpener = Callable[[], Awaitable[DirectClientConnection]]


class OutageRider:
    """One station's outbox traffic and upstream reconnects."""

    def __init__(
        self,
        settings: OutageSettings,
        session: RelaySession,
        reopen: UpstreamOpener,
        flush: Callable[[], None],
    ) -> None:
        self._settings = settings
        self._session = session
        self._reopen = reopen
        self._flush = flush
        self._station_id = session.station_id
        self._lock = asyncio.Lock()  # appends and restores, in order
        self._tasks: set[asyncio.Task[None]] = set()
        self._acks: set[asyncio.Future[None]] = set()  # acknowledgements being written

    def on_event(self, event: object) -> None:
        """Start the outbox work an event asks for (called from the link's dispatch)."""
        if isinstance(event, PersistRequested):
            self._spawn(self._persist(event))
        elif isinstance(event, ReplayAnswered):
            self._acknowledge(event.seq, event.result_text, event.csms_transaction_id)
        elif isinstance(event, ReplayAbandoned):
            reason = orjson.dumps({"abandoned": event.reason}).decode()
            self._acknowledge(event.seq, reason, None)

    async def restore(self) -> None:
        """Hand the session what the file says is undelivered (after a reconnect or at start)."""
        outbox = self._settings.outbox
        async with self._lock:
            pending: list[OutboxEntry] = []
            while page := await outbox.pending(
                self._station_id, _PAGE, after_seq=pending[-1].seq if pending else 0
            ):
                pending += page
            known_ids = await outbox.transaction_map(self._station_id)
            self._session.upstream_restored(pending, known_ids)
        if pending:
            log.info(
                "replaying %d stored messages", len(pending), extra={"station_id": self._station_id}
            )
        self._flush()

    async def reconnect(self, station_gone: asyncio.Future[None]) -> DirectClientConnection | None:
        """A new upstream socket, or None if the station left first."""
        backoff = Backoff(
            self._settings.reconnect_min_s, self._settings.reconnect_max_s, self._settings.rng
        )
        asked_s: float | None = None  # the pause the CSMS asked for with Retry-After
        while True:
            delay_s = max(backoff.next_delay_s(), asked_s or 0.0)
            done, _ = await asyncio.wait({station_gone}, timeout=delay_s)
            if done:
                return None
            try:
                return await self._reopen()
            except (OSError, InvalidHandshake, TimeoutError) as exc:
                log.info("CSMS still unreachable: %r", exc, extra={"station_id": self._station_id})
                asked_s = self._asked_pause_s(exc)

    def _asked_pause_s(self, exc: Exception) -> float | None:
        """A 429 or 503 refusal's Retry-After: the next attempt waits at least that long."""
        if not isinstance(exc, InvalidStatus):
            return None
        return retry_after_s(exc.response, self._settings.wall())

    async def close(self) -> None:
        """Let outbox writes in progress finish: each is a promise made to the station."""
        if self._tasks or self._acks:
            await asyncio.wait(self._tasks | self._acks)

    def _spawn(self, job: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(job)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _persist(self, request: PersistRequested) -> None:
        outbox = self._settings.outbox
        async with self._lock:
            try:
                local_id = None
                if request.needs_local_transaction_id:
                    local_id = await outbox.next_local_transaction_id(self._station_id)
                entry = await outbox.append(
                    self._station_id,
                    request.action,
                    request.message_id,
                    request.frame_text,
                    local_transaction_id=None if local_id is None else str(local_id),
                    received_wall_s=self._settings.wall(),
                    retry_key=_retry_key(request),
                )
            except OutboxError as exc:
                log.error(
                    "could not store %s: %s",
                    request.action,
                    exc,
                    extra={"station_id": self._station_id},
                )
                self._session.persist_failed(request.message_id, str(exc))
            else:
                # A station resending a stored call gets the id it was first given.
                stored_id = entry.local_transaction_id
                answer_id = int(stored_id) if stored_id is not None else local_id
                self._session.persisted(request.message_id, entry, answer_id)
        self._flush()

    def _acknowledge(self, seq: int, result_text: str, csms_id: str | None) -> None:
        # The writer's future, not a task: a task and a coroutine per replayed message were a
        # tenth of the relay's CPU during a replay (benchmarks/replay_bench.py).
        try:
            written = self._settings.outbox.acknowledge_soon(
                seq, result_text, csms_transaction_id=csms_id
            )
        except OutboxError as exc:  # the outbox is closed
            self._not_acknowledged(seq, exc)
            return
        self._acks.add(written)
        written.add_done_callback(partial(self._acknowledged, seq))

    def _acknowledged(self, seq: int, written: asyncio.Future[None]) -> None:
        self._acks.discard(written)
        if not written.cancelled() and (exc := written.exception()) is not None:
            self._not_acknowledged(seq, exc)

    def _not_acknowledged(self, seq: int, exc: BaseException) -> None:
        # Still pending in the file: delivered again next time.
        log.warning(
            "could not mark entry %d delivered: %s",
            seq,
            exc,
            extra={"station_id": self._station_id},
        )


def _retry_key(request: PersistRequested) -> str | None:
    """The key a resend of this call with a new message id is recognised by (2.0.1)."""
    if request.action != "TransactionEvent":
        return None
    frame = parse_frame(request.frame_text, OcppVersion.V201)
    return retry_key(request.action, frame.payload) if isinstance(frame, Call) else None
