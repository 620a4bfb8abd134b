from __future__ import annotations

from localctl.model.tracking import TransactionTracker


def test_evse_of_a_transaction_until_it_ends() -> None:
    tracker = TransactionTracker()
    tracker.started("t1", 2)
    assert tracker.evse_of("t1") == 2
    tracker.ended("t1")
    assert tracker.evse_of("t1") is None


def test_seq_nos_count_once_per_transaction() -> None:
    tracker = TransactionTracker()
    assert tracker.first_time("t1", 0)
    assert not tracker.first_time("t1", 0)
    assert tracker.first_time("t2", 0)
    tracker.ended("t1")
    assert not tracker.first_time("t1", 0)  # a replay after the end is still a replay


def test_a_transaction_ends_once() -> None:
    tracker = TransactionTracker()
    assert tracker.ended("t1")
    assert not tracker.ended("t1")


def test_memory_is_bounded_oldest_first() -> None:
    tracker = TransactionTracker()
    for number in range(1000):
        tracker.started(f"t{number}", 1)
        tracker.first_time(f"t{number}", 0)
    assert tracker.evse_of("t0") is None
    assert tracker.evse_of("t999") == 1
    assert tracker.first_time("t0", 0)
