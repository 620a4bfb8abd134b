"""One thread owns the SQLite connection and commits queued jobs in groups.

Calling contract: `submit(job)` from the event loop returns an awaitable that resolves after
the transaction holding `job` has been committed (synced to disk, per the connection's
pragmas), with what `job` returned or the exception it raised. Jobs run in the order they were
submitted. While one group is being committed, newly submitted jobs queue up and are all
committed together by the next group: one transaction and one fsync for however many arrived,
with no timer and no added wait when the load is light.

Each job runs inside a SAVEPOINT, so a job that raises is undone alone and the rest of its group
still commits. If SQLite loses the whole transaction (I/O error, disk full) or the COMMIT fails,
every job of the group fails with `OutboxStorageError`: an awaitable resolves successfully only
if its change is on disk.

Cancelling an awaiting caller does not withdraw its job: the job may still be committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from localctl.offline.errors import OutboxClosedError, OutboxStorageError

LOGGER = logging.getLogger(__name__)

T = TypeVar("T")
Job = Callable[[sqlite3.Connection], T]

# A group is capped so one commit never holds a very long transaction; what is left over goes
# into the next group straight away.
MAX_GROUP_JOBS = 1024


@dataclass(slots=True)
class _Request:
    job: Callable[[sqlite3.Connection], Any]
    future: asyncio.Future[Any]


@dataclass(slots=True)
class _Outcome:
    future: asyncio.Future[Any]
    value: Any = None
    error: BaseException | None = None


@dataclass(slots=True)
class GroupStats:
    """How many commits carried how many jobs (for the benchmark and for logs).

    Only the writer thread writes these counters; a reader on the loop may see one group's
    update half done, which is good enough for statistics and needs no lock.
    """

    commits: int = 0
    jobs: int = 0
    largest_group_jobs: int = 0
    failed_commits: int = 0

    def record(self, group_jobs: int) -> None:
        self.commits += 1
        self.jobs += group_jobs
        self.largest_group_jobs = max(self.largest_group_jobs, group_jobs)


_STOP = object()


class WriterFile:
    """A SQLite file served by one `GroupCommitWriter`: the part the outbox and the control
    state file share. Subclasses add the jobs; open them through their own `open()`."""

    def __init__(self, path: Path, writer: GroupCommitWriter) -> None:
        self.path = path
        self._writer = writer

    async def close(self) -> None:
        """Finish every queued job, close the file and join the writer thread. Idempotent."""
        await self._writer.aclose()

    @property
    def group_stats(self) -> GroupStats:
        """Commits and the jobs they carried: jobs / commits is the group-commit factor."""
        return self._writer.stats


class GroupCommitWriter:
    """The writer thread and its queue; start with `start()`, end with `aclose()`."""

    def __init__(self, connect: Callable[[], sqlite3.Connection], name: str) -> None:
        self._connect = connect
        self._requests: queue.SimpleQueue[_Request | object] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False
        # Set when the thread died of an unexpected error; guarded by `_queue_lock` so no job
        # can be queued after the thread has drained the queue for the last time.
        self._broken: BaseException | None = None
        self._queue_lock = threading.Lock()
        self.stats = GroupStats()
        # Set by the thread once the connection is open (value None) or failed to open.
        self._opened: asyncio.Future[None] | None = None
        self._stopped: asyncio.Future[None] | None = None

    async def start(self) -> None:
        """Open the connection on the writer thread; raises what opening raised."""
        self._loop = asyncio.get_running_loop()
        self._opened = self._loop.create_future()
        self._stopped = self._loop.create_future()
        self._thread.start()
        try:
            await self._opened
        except BaseException:
            self._thread.join()
            self._closed = True
            raise

    def submit(self, job: Job[T]) -> asyncio.Future[T]:
        """Queue `job`; the future resolves once its group is committed."""
        if self._closed or self._loop is None:
            raise OutboxClosedError("the outbox is closed")
        future: asyncio.Future[T] = self._loop.create_future()
        with self._queue_lock:
            if self._broken is not None:
                raise _storage_error(self._broken)
            self._requests.put(_Request(job, future))
        return future

    async def aclose(self) -> None:
        """Let every queued job finish, close the connection, and join the thread."""
        if self._closed:
            return
        self._closed = True
        assert self._stopped is not None
        self._requests.put(_STOP)
        await self._stopped
        # The thread has nothing left to do but return, so this join does not block the loop.
        self._thread.join()

    # -- on the writer thread ------------------------------------------------------------------

    def _serve(self) -> None:
        try:
            connection = self._connect()
        except BaseException as error:  # handed to the awaiting `start()`, not swallowed
            self._post([_Outcome(self._required(self._opened), error=_storage_error(error))])
            return
        self._post([_Outcome(self._required(self._opened))])
        group: list[_Request] = []
        try:
            while True:
                group, stop = self._take_group()
                if group:
                    self._post(self._commit_group(connection, group))
                if stop:
                    return
        except BaseException as error:  # logged, and handed to every waiting caller
            LOGGER.exception("outbox writer thread stopped")
            self._fail_everything(group, error)
        finally:
            connection.close()
            self._post([_Outcome(self._required(self._stopped))])

    def _fail_everything(self, group: list[_Request], error: BaseException) -> None:
        """Fail the group in hand, everything queued, and every later `submit`, so no caller
        waits forever for a thread that is gone."""
        failure = OutboxStorageError(f"the outbox writer stopped: {error!r}")
        with self._queue_lock:
            self._broken = failure
            while True:
                try:
                    item = self._requests.get_nowait()
                except queue.Empty:
                    break
                if isinstance(item, _Request):
                    group.append(item)
        self._post([_Outcome(request.future, error=failure) for request in group])

    def _take_group(self) -> tuple[list[_Request], bool]:
        """Block for one request, then take whatever else is already queued."""
        group: list[_Request] = []
        item = self._requests.get()
        while True:
            if item is _STOP:
                return group, True
            assert isinstance(item, _Request)
            group.append(item)
            if len(group) >= MAX_GROUP_JOBS:
                return group, False
            try:
                item = self._requests.get_nowait()
            except queue.Empty:
                return group, False

    def _commit_group(
        self, connection: sqlite3.Connection, group: list[_Request]
    ) -> list[_Outcome]:
        try:
            connection.execute("BEGIN IMMEDIATE")
            outcomes = [_run_job(connection, request) for request in group]
            connection.execute("COMMIT")
        except sqlite3.Error as error:
            # A connection too broken to roll back fails this group all the same; SQLite undoes
            # the transaction when the file is next opened.
            with contextlib.suppress(sqlite3.Error):
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
            self.stats.failed_commits += 1
            failure = _storage_error(error)
            return [_Outcome(request.future, error=failure) for request in group]
        self.stats.record(len(group))
        return outcomes

    def _post(self, outcomes: list[_Outcome]) -> None:
        """Resolve futures on the loop's thread: one wake-up for the whole group."""
        assert self._loop is not None
        # A closed loop raises RuntimeError: nobody is left to await these results.
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(_settle, outcomes)

    @staticmethod
    def _required(future: asyncio.Future[None] | None) -> asyncio.Future[None]:
        assert future is not None
        return future


def _run_job(connection: sqlite3.Connection, request: _Request) -> _Outcome:
    connection.execute("SAVEPOINT job")
    try:
        value = request.job(connection)
    except Exception as error:  # the job's own failure goes back to its caller, not the group
        if not connection.in_transaction:
            raise sqlite3.OperationalError(f"transaction lost: {error}") from error
        connection.execute("ROLLBACK TO job")
        connection.execute("RELEASE job")
        return _Outcome(request.future, error=_storage_error(error))
    connection.execute("RELEASE job")
    return _Outcome(request.future, value=value)


def _storage_error(error: BaseException) -> BaseException:
    if isinstance(error, OutboxStorageError):
        return OutboxStorageError(*error.args)
    if isinstance(error, sqlite3.Error):
        wrapped = OutboxStorageError(f"{type(error).__name__}: {error}")
        wrapped.__cause__ = error
        return wrapped
    return error


def _settle(outcomes: list[_Outcome]) -> None:
    for outcome in outcomes:
        if outcome.future.done():  # the caller was cancelled; the job ran all the same
            continue
        if outcome.error is not None:
            outcome.future.set_exception(outcome.error)
        else:
            outcome.future.set_result(outcome.value)
