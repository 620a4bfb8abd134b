"""The durable outbox against real SQLite files (one per test, in tmp_path)."""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path
from typing import TypeVar

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    invariant,
    multiple,
    rule,
)

from localctl.offline import (
    Outbox,
    OutboxClosedError,
    OutboxEntry,
    OutboxStorageError,
    OutboxUsageError,
    TransactionMapConflictError,
    UnknownSeqError,
)

REPO_ROOT = Path(__file__).resolve().parents[2]

T = TypeVar("T")


def frame(message_id: str, action: str = "MeterValues", body: str = "{}") -> str:
    return f'[2,"{message_id}","{action}",{body}]'


async def put(outbox: Outbox, station_id: str, message_id: str, body: str = "{}") -> OutboxEntry:
    return await outbox.append(
        station_id,
        "MeterValues",
        message_id,
        frame(message_id, body=body),
        received_wall_s=1_700_000_000.0,
    )


@pytest.fixture
async def outbox(tmp_path: Path) -> AsyncIterator[Outbox]:
    opened = await Outbox.open(tmp_path / "outbox.sqlite")
    yield opened
    await opened.close()


# -- order and duplicates ----------------------------------------------------------------------


async def test_many_concurrent_appenders_keep_each_stations_order(outbox: Outbox) -> None:
    async def station(station_id: str) -> list[int]:
        return [(await put(outbox, station_id, f"m{index}")).seq for index in range(40)]

    seqs = await asyncio.gather(*(station(f"cs{number}") for number in range(25)))

    for number, station_seqs in enumerate(seqs):
        pending = await outbox.pending(f"cs{number}", limit=1000)
        assert [entry.message_id for entry in pending] == [f"m{index}" for index in range(40)]
        assert [entry.seq for entry in pending] == station_seqs == sorted(station_seqs)
    every_seq = [seq for station_seqs in seqs for seq in station_seqs]
    assert len(set(every_seq)) == 1000
    # Group commit: far fewer transactions than appends.
    assert outbox.group_stats.commits < outbox.group_stats.jobs / 3


async def test_appends_started_together_are_stored_in_call_order(outbox: Outbox) -> None:
    entries = await asyncio.gather(*(put(outbox, "cs1", f"m{index}") for index in range(200)))

    assert [entry.seq for entry in entries] == sorted(entry.seq for entry in entries)
    pending = await outbox.pending("cs1", limit=500)
    assert [entry.message_id for entry in pending] == [f"m{index}" for index in range(200)]


async def test_same_frame_appended_twice_is_stored_once(outbox: Outbox) -> None:
    first = await put(outbox, "cs1", "m1")
    again = await outbox.append(
        "cs1", "MeterValues", "m1", frame("m1"), received_wall_s=1_800_000_000.0
    )

    assert again == first
    assert await outbox.backlog() == {"cs1": 1}


async def test_duplicates_appended_at_once_share_one_entry(outbox: Outbox) -> None:
    entries = await asyncio.gather(*(put(outbox, "cs1", "m1") for _ in range(10)))

    assert {entry.seq for entry in entries} == {entries[0].seq}
    assert await outbox.backlog() == {"cs1": 1}


async def test_retry_of_a_start_transaction_returns_the_local_id_the_station_was_given(
    outbox: Outbox,
) -> None:
    start = frame("m1", "StartTransaction", '{"connectorId":1,"idTag":"T"}')
    local_id = str(await outbox.next_local_transaction_id("cs1"))
    first = await outbox.append(
        "cs1", "StartTransaction", "m1", start, local_transaction_id=local_id, received_wall_s=1.0
    )
    retry_id = str(await outbox.next_local_transaction_id("cs1"))
    retry = await outbox.append(
        "cs1", "StartTransaction", "m1", start, local_transaction_id=retry_id, received_wall_s=2.0
    )

    assert retry == first
    assert retry.local_transaction_id == local_id


async def test_duplicate_is_suppressed_after_the_first_copy_was_acknowledged(
    outbox: Outbox,
) -> None:
    first = await put(outbox, "cs1", "m1")
    await outbox.acknowledge(first.seq, '[3,"m1",{}]')

    assert await put(outbox, "cs1", "m1") == first
    assert await outbox.pending("cs1") == []


async def test_reused_message_id_with_another_frame_is_a_new_message(outbox: Outbox) -> None:
    before_reboot = await put(outbox, "cs1", "1", body='{"connectorId":1}')
    after_reboot = await put(outbox, "cs1", "1", body='{"connectorId":2}')

    assert after_reboot.seq > before_reboot.seq
    assert [entry.seq for entry in await outbox.pending("cs1")] == [
        before_reboot.seq,
        after_reboot.seq,
    ]


async def test_same_message_id_on_two_stations_is_two_messages(outbox: Outbox) -> None:
    await put(outbox, "cs1", "m1")
    await put(outbox, "cs2", "m1")

    assert await outbox.backlog() == {"cs1": 1, "cs2": 1}


# -- acknowledgement -----------------------------------------------------------------------------


async def test_acknowledged_entry_leaves_pending_and_backlog(outbox: Outbox) -> None:
    entries = [await put(outbox, "cs1", f"m{index}") for index in range(3)]
    await put(outbox, "cs2", "m0")

    await outbox.acknowledge(entries[0].seq, '[3,"m0",{}]')

    assert await outbox.pending("cs1") == entries[1:]
    assert await outbox.backlog() == {"cs1": 2, "cs2": 1}
    await outbox.acknowledge(entries[1].seq, '[3,"m1",{}]')
    await outbox.acknowledge(entries[2].seq, '[3,"m2",{}]')
    assert await outbox.backlog() == {"cs2": 1}


async def test_acknowledging_twice_keeps_the_first_answer(outbox: Outbox, tmp_path: Path) -> None:
    entry = await put(outbox, "cs1", "m1")
    await outbox.acknowledge(entry.seq, "first")
    await outbox.acknowledge(entry.seq, "second")
    await outbox.close()

    with sqlite3.connect(tmp_path / "outbox.sqlite") as connection:
        stored = connection.execute("SELECT result_text FROM outbox").fetchall()
    connection.close()
    assert stored == [("first",)]


async def test_acknowledging_an_unknown_seq_raises(outbox: Outbox) -> None:
    with pytest.raises(UnknownSeqError):
        await outbox.acknowledge(99, '[3,"x",{}]')


async def test_pending_pages_through_the_backlog_with_after_seq(outbox: Outbox) -> None:
    entries = [await put(outbox, "cs1", f"m{index}") for index in range(7)]

    first_page = await outbox.pending("cs1", limit=3)
    second_page = await outbox.pending("cs1", limit=3, after_seq=first_page[-1].seq)
    last_page = await outbox.pending("cs1", limit=3, after_seq=second_page[-1].seq)

    assert first_page + second_page + last_page == entries
    with pytest.raises(OutboxUsageError):
        await outbox.pending("cs1", limit=0)


async def test_pruning_drops_only_acknowledged_entries_received_before_the_cutoff(
    outbox: Outbox,
) -> None:
    old = await outbox.append("cs1", "MeterValues", "a", frame("a"), received_wall_s=100.0)
    kept_pending = await outbox.append("cs1", "MeterValues", "b", frame("b"), received_wall_s=100.0)
    recent = await outbox.append("cs1", "MeterValues", "c", frame("c"), received_wall_s=300.0)
    await outbox.acknowledge(old.seq, "ok")
    await outbox.acknowledge(recent.seq, "ok")

    assert await outbox.prune_acknowledged(received_before_wall_s=200.0) == 1
    assert await outbox.pending("cs1") == [kept_pending]
    # The recent duplicate is still recognised; the pruned one would be stored anew.
    assert await outbox.append("cs1", "MeterValues", "c", frame("c"), received_wall_s=9.0) == recent
    assert (await put(outbox, "cs1", "a")).seq > recent.seq


# -- durability -----------------------------------------------------------------------------------


async def test_entries_acknowledgements_and_seq_survive_close_and_reopen(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite"
    first = await Outbox.open(path)
    entries = [await put(first, "cs1", f"m{index}") for index in range(5)]
    await first.acknowledge(entries[0].seq, "ok")
    await first.close()

    second = await Outbox.open(path)
    try:
        assert await second.pending("cs1") == entries[1:]
        assert await put(second, "cs1", "m2") == entries[2]
        assert (await put(second, "cs1", "m9")).seq > entries[-1].seq
    finally:
        await second.close()


async def test_seq_is_never_reused_after_the_newest_entries_are_pruned(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite"
    first = await Outbox.open(path)
    newest = await put(first, "cs1", "m1")
    await first.acknowledge(newest.seq, "ok")
    await first.prune_acknowledged(received_before_wall_s=2e9)
    await first.close()

    second = await Outbox.open(path)
    try:
        assert (await put(second, "cs1", "m2")).seq > newest.seq
    finally:
        await second.close()


def _run_child_until_killed(path: Path, round_id: str, lines_before_kill: int) -> list[str]:
    """Start the appending child, SIGKILL it after `lines_before_kill` appends, return its
    stdout (everything it printed before it died)."""
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.offline.crash_child", str(path), round_id, "4"],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    lines: list[str] = []
    try:
        deadline_s = time.monotonic() + 30.0
        while len(lines) < lines_before_kill and time.monotonic() < deadline_s:
            line = child.stdout.readline()
            if not line:
                break
            lines.append(line)
        os.kill(child.pid, signal.SIGKILL)
        lines.extend(child.stdout.read().splitlines(keepends=True))
    finally:
        child.stdout.close()
        child.wait()
    assert child.returncode == -signal.SIGKILL
    assert lines[:1] == ["open\n"], "the child never got going"
    return [line for line in lines[1:] if line.endswith("\n")]


def _check_round(stored: list[tuple[int, str, str]], printed: list[str], round_id: str) -> None:
    """Every append that returned is stored; each station's appends are a gapless prefix in seq
    order; nothing is stored twice."""
    by_seq = {seq: (station, message_id) for seq, station, message_id in stored}
    assert len(by_seq) == len(stored)
    for line in printed:
        seq, station, index = line.split()
        assert by_seq[int(seq)] == (station, f"{round_id}-{index}")
    in_round = [row for row in stored if row[2].startswith(f"{round_id}-")]
    for station in {row[1] for row in in_round}:
        indices = [int(row[2].split("-")[1]) for row in in_round if row[1] == station]
        assert indices == list(range(len(indices)))


async def test_every_append_that_returned_survives_sigkill(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite"
    rng = random.Random(6)
    printed_count = 0
    for round_number in range(3):
        round_id = f"r{round_number}"
        printed = await asyncio.to_thread(
            _run_child_until_killed, path, round_id, rng.randrange(100, 400)
        )
        printed_count += len(printed)

        connection = sqlite3.connect(path)  # recovers the WAL the killed child left behind
        try:
            assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            stored = connection.execute(
                "SELECT seq, station_id, message_id FROM outbox ORDER BY seq"
            ).fetchall()
        finally:
            connection.close()
        _check_round(stored, printed, round_id)
        assert len(stored) >= printed_count

    reopened = await Outbox.open(path)
    try:
        assert sum((await reopened.backlog()).values()) == len(stored)
        pending = await reopened.pending("cs0", limit=10_000)
        assert [entry.seq for entry in pending] == sorted(entry.seq for entry in pending)
    finally:
        await reopened.close()


async def test_every_acknowledgement_that_returned_survives_sigkill(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite"
    await asyncio.to_thread(_run_child_until_killed, path, "r0", 600)

    acked = await asyncio.to_thread(_run_child_until_killed, path, "ack", 150)

    acked_seqs = {int(line.split()[1]) for line in acked}
    assert acked_seqs, "the replay child acknowledged nothing before it was killed"
    reopened = await Outbox.open(path)
    try:
        pending = [
            entry.seq
            for station in ("cs0", "cs1", "cs2", "cs3")
            for entry in await reopened.pending(station, limit=10_000)
        ]
    finally:
        await reopened.close()
    connection = sqlite3.connect(path)
    try:
        (stored_count,) = connection.execute("SELECT count(*) FROM outbox").fetchone()
    finally:
        connection.close()
    assert not acked_seqs & set(pending)
    # Acknowledged but not printed: at most the one in flight per station task.
    assert 0 <= stored_count - len(pending) - len(acked_seqs) <= 4


# -- OCPP 1.6 transaction ids ---------------------------------------------------------------------


async def test_transaction_id_map_survives_reopen(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite"
    first = await Outbox.open(path)
    local_id = str(await first.next_local_transaction_id("cs1"))
    assert await first.csms_transaction_id("cs1", local_id) is None
    await first.map_transaction("cs1", local_id, "4711")
    await first.close()

    second = await Outbox.open(path)
    try:
        assert await second.csms_transaction_id("cs1", local_id) == "4711"
        assert await second.local_transaction_id("cs1", "4711") == local_id
        assert await second.csms_transaction_id("cs2", local_id) is None
        unmapped = str(await second.next_local_transaction_id("cs1"))
        assert await second.transaction_map("cs1") == {local_id: "4711"}
        assert unmapped not in await second.transaction_map("cs1")
        assert await second.transaction_map("cs2") == {}
    finally:
        await second.close()


async def test_mapping_a_local_id_to_another_csms_id_raises(outbox: Outbox) -> None:
    await outbox.map_transaction("cs1", "-1", "10")
    await outbox.map_transaction("cs1", "-1", "10")

    with pytest.raises(TransactionMapConflictError):
        await outbox.map_transaction("cs1", "-1", "11")
    assert await outbox.csms_transaction_id("cs1", "-1") == "10"


async def test_acknowledging_a_replayed_start_maps_its_transaction_id(outbox: Outbox) -> None:
    local_id = str(await outbox.next_local_transaction_id("cs1"))
    start = await outbox.append(
        "cs1",
        "StartTransaction",
        "m1",
        frame("m1", "StartTransaction"),
        local_transaction_id=local_id,
        received_wall_s=1.0,
    )

    await outbox.acknowledge(start.seq, '[3,"m1",{"transactionId":77}]', csms_transaction_id="77")

    assert await outbox.csms_transaction_id("cs1", local_id) == "77"
    assert await outbox.pending("cs1") == []


async def test_mapping_on_acknowledge_needs_a_local_id_and_leaves_the_entry_pending(
    outbox: Outbox,
) -> None:
    entry = await put(outbox, "cs1", "m1")

    with pytest.raises(OutboxUsageError):
        await outbox.acknowledge(entry.seq, "ok", csms_transaction_id="5")
    assert await outbox.pending("cs1") == [entry]


async def test_local_transaction_ids_are_negative_and_never_repeat_across_reopen(
    tmp_path: Path,
) -> None:
    path = tmp_path / "outbox.sqlite"
    issued: list[int] = []
    for _ in range(3):
        outbox = await Outbox.open(path)
        issued += await asyncio.gather(
            *(outbox.next_local_transaction_id(f"cs{number % 3}") for number in range(20))
        )
        await outbox.close()

    assert len(set(issued)) == 60
    assert all(-(2**31) <= local_id < 0 for local_id in issued)


async def test_a_local_id_already_mapped_by_hand_is_skipped(outbox: Outbox) -> None:
    await outbox.map_transaction("cs1", "-1", "10")

    assert await outbox.next_local_transaction_id("cs1") == -2
    assert await outbox.next_local_transaction_id("cs2") == -3


# -- restart state, lifecycle, failures -----------------------------------------------------------


async def test_kv_values_survive_reopen_and_can_be_deleted(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite"
    first = await Outbox.open(path)
    await first.set("session:cs1:1", '{"floor_a": 6.0}')
    await first.set("session:cs1:1", '{"floor_a": 8.0}')
    await first.set("gone", "[]")
    await first.delete("gone")
    await first.close()

    second = await Outbox.open(path)
    try:
        assert await second.get("session:cs1:1") == '{"floor_a": 8.0}'
        assert await second.get("gone") is None
    finally:
        await second.close()


async def test_kv_refuses_text_that_is_not_json(outbox: Outbox) -> None:
    with pytest.raises(OutboxUsageError):
        await outbox.set("key", "{not json")
    assert await outbox.get("key") is None


async def test_a_failing_call_does_not_fail_the_calls_committed_with_it(outbox: Outbox) -> None:
    await outbox.map_transaction("cs1", "-1", "10")

    results = await asyncio.gather(
        put(outbox, "cs1", "m1"),
        outbox.map_transaction("cs1", "-1", "11"),
        put(outbox, "cs1", "m2"),
        return_exceptions=True,
    )

    assert isinstance(results[1], TransactionMapConflictError)
    assert [entry.message_id for entry in await outbox.pending("cs1")] == ["m1", "m2"]


async def test_a_cancelled_append_may_still_be_stored(outbox: Outbox) -> None:
    task = asyncio.create_task(put(outbox, "cs1", "m1"))
    await asyncio.sleep(0)  # the job is queued once the coroutine has started
    task.cancel()

    assert [entry.message_id for entry in await outbox.pending("cs1")] == ["m1"]


async def test_closed_outbox_refuses_calls_and_closes_once(tmp_path: Path) -> None:
    outbox = await Outbox.open(tmp_path / "outbox.sqlite")
    queued = asyncio.create_task(put(outbox, "cs1", "m1"))
    await asyncio.sleep(0)
    await outbox.close()
    await outbox.close()

    assert (await queued).seq == 1  # calls queued before close still finish
    with pytest.raises(OutboxClosedError):
        await outbox.backlog()


async def test_a_second_process_cannot_open_a_file_in_use(outbox: Outbox) -> None:
    script = (
        "import asyncio, sys; from pathlib import Path; from localctl.offline import Outbox\n"
        "async def main():\n"
        "    try:\n"
        "        await Outbox.open(Path(sys.argv[1]), busy_timeout_s=0.1)\n"
        "    except Exception as error:\n"
        "        print(type(error).__name__)\n"
        "asyncio.run(main())\n"
    )
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", script, str(outbox.path), stdout=asyncio.subprocess.PIPE
    )
    stdout, _ = await child.communicate()

    assert stdout.decode().strip() == "OutboxStorageError"


async def test_file_from_a_newer_localctl_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite"
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA user_version = 99")
    connection.close()

    with pytest.raises(OutboxStorageError, match="newer"):
        await Outbox.open(path)


async def test_file_that_is_not_a_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite"
    path.write_bytes(b"this is not sqlite" * 100)

    with pytest.raises(OutboxStorageError):
        await Outbox.open(path)


# -- properties -----------------------------------------------------------------------------------

STATIONS = st.sampled_from(["cs1", "cs2", "cs3"])
# Few message ids and bodies, so duplicates and reused ids come up often.
MESSAGES = st.tuples(STATIONS, st.sampled_from(["1", "2", "3", "4"]), st.sampled_from(["{}", "[]"]))


class OutboxMachine(RuleBasedStateMachine):
    """The outbox against a list model: pending = unacknowledged entries of a station in seq
    order; a frame stored once per (station, message id, text); seqs strictly increasing and
    local transaction ids strictly decreasing, across reopening the file too."""

    stored = Bundle("stored")

    def __init__(self) -> None:
        super().__init__()
        self.directory = Path(tempfile.mkdtemp(prefix="outbox-machine-"))
        self.path = self.directory / "outbox.sqlite"
        self.loop = asyncio.new_event_loop()
        self.outbox = self.run(Outbox.open(self.path))
        self.entries: dict[tuple[str, str, str], OutboxEntry] = {}
        self.acknowledged: set[int] = set()
        self.last_seq = 0
        self.local_ids: list[int] = []

    def run(self, awaitable: Awaitable[T]) -> T:
        async def wrapped() -> T:
            return await awaitable

        return self.loop.run_until_complete(wrapped())

    def _record(self, message: tuple[str, str, str], entry: OutboxEntry) -> OutboxEntry:
        station_id, message_id, body = message
        key = (station_id, message_id, frame(message_id, body=body))
        assert (entry.station_id, entry.message_id, entry.frame_text) == key
        known = self.entries.get(key)
        if known is not None:
            assert entry == known
        else:
            assert entry.seq > self.last_seq
            self.last_seq = entry.seq
            self.entries[key] = entry
        return entry

    @rule(target=stored, message=MESSAGES)
    def append(self, message: tuple[str, str, str]) -> OutboxEntry:
        station_id, message_id, body = message
        return self._record(message, self.run(put(self.outbox, station_id, message_id, body)))

    @rule(target=stored, messages=st.lists(MESSAGES, min_size=2, max_size=12))
    def append_together(self, messages: list[tuple[str, str, str]]) -> object:
        async def together() -> list[OutboxEntry]:
            calls = (put(self.outbox, station, mid, body) for station, mid, body in messages)
            return await asyncio.gather(*calls)

        entries = self.run(together())
        return multiple(*map(self._record, messages, entries))

    @rule(entry=consumes(stored))
    def acknowledge(self, entry: OutboxEntry) -> None:
        self.run(self.outbox.acknowledge(entry.seq, f'[3,"{entry.message_id}",{{}}]'))
        self.acknowledged.add(entry.seq)

    @rule(station_id=STATIONS)
    def issue_local_transaction_id(self, station_id: str) -> None:
        issued = self.run(self.outbox.next_local_transaction_id(station_id))
        assert issued < 0
        assert all(issued < earlier for earlier in self.local_ids)
        self.local_ids.append(issued)

    @rule()
    def reopen(self) -> None:
        self.run(self.outbox.close())
        self.outbox = self.run(Outbox.open(self.path))

    @invariant()
    def pending_matches_the_model(self) -> None:
        for station_id in ("cs1", "cs2", "cs3"):
            expected = sorted(
                (
                    entry
                    for entry in self.entries.values()
                    if entry.station_id == station_id and entry.seq not in self.acknowledged
                ),
                key=lambda entry: entry.seq,
            )
            assert self.run(self.outbox.pending(station_id, limit=1000)) == expected
        counts = {station: 0 for station in ("cs1", "cs2", "cs3")}
        for entry in self.entries.values():
            if entry.seq not in self.acknowledged:
                counts[entry.station_id] += 1
        assert self.run(self.outbox.backlog()) == {k: v for k, v in counts.items() if v}

    def teardown(self) -> None:
        try:
            self.run(self.outbox.close())
        finally:
            self.loop.close()
            shutil.rmtree(self.directory)


TestOutboxMachine = OutboxMachine.TestCase
TestOutboxMachine.settings = settings(max_examples=40, stateful_step_count=25)
