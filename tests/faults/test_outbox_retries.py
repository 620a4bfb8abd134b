"""A 2.0.1 TransactionEvent sent again under a new message id is recognised in the outbox by
its transactionId and seqNo (found by the fault matrix: a station that lost the answer to an
offline call stored it twice). Kept next to the matrix case it came from."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import orjson

from localctl.offline import Outbox
from localctl.offline.schema import _MIGRATIONS, _statements, connect
from localctl.relay.offline import retry_key


def event(message_id: str, seq_no: int, **extra: object) -> str:
    payload = {
        "eventType": "Updated",
        "timestamp": "2026-11-22T12:00:00Z",
        "triggerReason": "MeterValuePeriodic",
        "seqNo": seq_no,
        "transactionInfo": {"transactionId": "tx-1"},
        **extra,
    }
    return orjson.dumps([2, message_id, "TransactionEvent", payload]).decode()


def key_of(frame: str) -> str | None:
    _, _, action, payload = orjson.loads(frame)
    return retry_key(action, payload)


def test_a_transaction_event_is_keyed_by_its_transaction_and_seq_no() -> None:
    assert key_of(event("a", 3)) == key_of(event("b", 3, offline=True)) == "3@tx-1"
    assert key_of(event("a", 3)) != key_of(event("a", 4))


def test_other_messages_and_malformed_events_have_no_key() -> None:
    assert retry_key("MeterValues", {"seqNo": 1, "transactionInfo": {"transactionId": "t"}}) is None
    assert retry_key("TransactionEvent", {"seqNo": True, "transactionInfo": {}}) is None
    assert retry_key("TransactionEvent", {"seqNo": 1}) is None


async def test_a_resend_under_a_new_message_id_returns_the_stored_entry(tmp_path: Path) -> None:
    outbox = await Outbox.open(tmp_path / "outbox.sqlite3")
    try:
        first, again = event("m-1", 3), event("m-2", 3)
        stored = await outbox.append(
            "CS1", "TransactionEvent", "m-1", first, received_wall_s=0.0, retry_key=key_of(first)
        )
        repeated = await outbox.append(
            "CS1", "TransactionEvent", "m-2", again, received_wall_s=1.0, retry_key=key_of(again)
        )
        other_station = await outbox.append(
            "CS2", "TransactionEvent", "m-2", again, received_wall_s=1.0, retry_key=key_of(again)
        )
        assert repeated == stored
        assert other_station.seq != stored.seq
        assert [e.message_id for e in await outbox.pending("CS1")] == ["m-1"]
    finally:
        await outbox.close()


def test_a_first_version_file_gains_the_retry_key_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite"
    old = sqlite3.connect(path, isolation_level=None)
    for statement in _statements(_MIGRATIONS[0]):
        old.execute(statement)
    old.execute("PRAGMA user_version = 1")
    old.execute(
        "INSERT INTO outbox (station_id, action, message_id, frame_text, received_wall_s)"
        " VALUES ('CS1', 'MeterValues', 'm', '[]', 0)"
    )
    old.close()
    migrated = connect(path, busy_timeout_s=0.1)
    try:
        rows = migrated.execute("SELECT message_id, retry_key FROM outbox").fetchall()
        assert rows == [("m", None)]
    finally:
        migrated.close()
