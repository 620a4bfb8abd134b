"""Opening, creating and migrating the outbox file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from localctl.offline.schema import SCHEMA_VERSION, connect


def test_a_new_file_gets_the_schema_and_the_durability_pragmas(tmp_path: Path) -> None:
    connection = connect(tmp_path / "o.sqlite", busy_timeout_s=0.1)
    try:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert connection.execute("PRAGMA synchronous").fetchone() == (2,)  # FULL
        assert connection.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
        assert {"outbox", "transaction_ids", "meta", "kv"} <= tables
    finally:
        connection.close()


def test_opening_a_current_file_again_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite"
    first = connect(path, busy_timeout_s=0.1)
    first.execute("INSERT INTO kv (key, value_json) VALUES ('k', '1')")
    first.close()

    again = connect(path, busy_timeout_s=0.1)
    try:
        assert again.execute("SELECT value_json FROM kv").fetchall() == [("1",)]
        assert again.execute("SELECT value FROM meta").fetchall() == [(0,)]
    finally:
        again.close()


def test_a_newer_schema_is_refused_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite"
    newer = sqlite3.connect(path)
    newer.execute("PRAGMA user_version = 99")
    newer.close()

    with pytest.raises(sqlite3.DatabaseError, match="newer"):
        connect(path, busy_timeout_s=0.1)
    check = sqlite3.connect(path)
    try:
        assert check.execute("PRAGMA user_version").fetchone() == (99,)
        assert check.execute("SELECT count(*) FROM sqlite_master").fetchone() == (0,)
    finally:
        check.close()
