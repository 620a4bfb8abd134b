"""The group-commit writer thread, on a real SQLite file with plain jobs."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from localctl.offline.errors import OutboxClosedError, OutboxStorageError
from localctl.offline.writer import MAX_GROUP_JOBS, GroupCommitWriter


def _connect(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("CREATE TABLE IF NOT EXISTS t (value INTEGER NOT NULL)")
    return connection


def insert(value: int) -> Callable[[sqlite3.Connection], int]:
    def job(connection: sqlite3.Connection) -> int:
        cursor = connection.execute("INSERT INTO t (value) VALUES (?)", (value,))
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    return job


def values(connection: sqlite3.Connection) -> list[int]:
    return [row[0] for row in connection.execute("SELECT value FROM t ORDER BY rowid")]


@pytest.fixture
async def writer(tmp_path: Path) -> AsyncIterator[GroupCommitWriter]:
    started = GroupCommitWriter(lambda: _connect(tmp_path / "w.sqlite"), "test-writer")
    await started.start()
    yield started
    await started.aclose()


async def occupy(writer: GroupCommitWriter, released: threading.Event) -> asyncio.Future[None]:
    """Keep the writer busy in a job of its own until `released`, so that the jobs submitted
    meanwhile queue up; returns once that job is running."""
    loop = asyncio.get_running_loop()
    running = asyncio.Event()

    def job(connection: sqlite3.Connection) -> None:
        loop.call_soon_threadsafe(running.set)
        released.wait(timeout=10.0)

    busy = writer.submit(job)
    await running.wait()
    return busy


async def test_jobs_queued_together_share_one_commit_in_submission_order(
    writer: GroupCommitWriter,
) -> None:
    released = threading.Event()
    busy = await occupy(writer, released)

    futures = [writer.submit(insert(value)) for value in range(50)]
    released.set()
    await asyncio.gather(busy, *futures)

    assert writer.stats.commits == 2
    assert writer.stats.largest_group_jobs == 50
    assert await writer.submit(values) == list(range(50))


async def test_a_group_is_capped_and_the_rest_goes_into_the_next(
    writer: GroupCommitWriter,
) -> None:
    released = threading.Event()
    busy = await occupy(writer, released)

    futures = [writer.submit(insert(value)) for value in range(MAX_GROUP_JOBS + 5)]
    released.set()
    await asyncio.gather(busy, *futures)

    assert writer.stats.largest_group_jobs == MAX_GROUP_JOBS
    assert writer.stats.commits == 3


async def test_a_raising_job_is_undone_alone(writer: GroupCommitWriter) -> None:
    def half_done_then_fail(connection: sqlite3.Connection) -> None:
        connection.execute("INSERT INTO t (value) VALUES (99)")
        raise ValueError("caller's mistake")

    results = await asyncio.gather(
        writer.submit(insert(1)),
        writer.submit(half_done_then_fail),
        writer.submit(insert(2)),
        return_exceptions=True,
    )

    assert isinstance(results[1], ValueError)
    assert await writer.submit(values) == [1, 2]


async def test_a_lost_transaction_fails_the_whole_group(writer: GroupCommitWriter) -> None:
    def rollback_everything(connection: sqlite3.Connection) -> None:
        connection.execute("ROLLBACK")
        raise sqlite3.OperationalError("simulated I/O error")

    results = await asyncio.gather(
        writer.submit(insert(1)),
        writer.submit(rollback_everything),
        writer.submit(insert(2)),
        return_exceptions=True,
    )

    assert all(isinstance(result, OutboxStorageError) for result in results)
    assert writer.stats.failed_commits == 1
    assert await writer.submit(values) == []
    await writer.submit(insert(3))  # the writer goes on with the next group
    assert await writer.submit(values) == [3]


async def test_a_connection_that_cannot_open_fails_start(tmp_path: Path) -> None:
    def refuse() -> sqlite3.Connection:
        raise sqlite3.OperationalError("unable to open database file")

    writer = GroupCommitWriter(refuse, "test-writer")
    with pytest.raises(OutboxStorageError, match="unable to open"):
        await writer.start()
    with pytest.raises(OutboxClosedError):
        writer.submit(insert(1))


async def test_close_finishes_queued_jobs_then_refuses_new_ones(tmp_path: Path) -> None:
    writer = GroupCommitWriter(lambda: _connect(tmp_path / "w.sqlite"), "test-writer")
    await writer.start()
    queued = writer.submit(insert(7))

    await writer.aclose()

    assert await queued == 1
    with pytest.raises(OutboxClosedError):
        writer.submit(insert(8))


class _Fatal(BaseException):
    """Something no job should ever raise (stands in for a bug in the writer itself)."""


async def test_a_dead_writer_fails_queued_and_later_jobs_instead_of_hanging(
    writer: GroupCommitWriter, caplog: pytest.LogCaptureFixture
) -> None:
    def die(connection: sqlite3.Connection) -> None:
        raise _Fatal

    results = await asyncio.gather(
        writer.submit(insert(1)),
        writer.submit(die),
        writer.submit(insert(2)),
        return_exceptions=True,
    )

    assert all(isinstance(result, OutboxStorageError) for result in results)
    with pytest.raises(OutboxStorageError, match="writer stopped"):
        writer.submit(insert(3))
    assert "outbox writer thread stopped" in caplog.text
