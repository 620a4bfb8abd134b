"""The tally counts what the fault matrix asserts on: it must see every kind of fault."""

from __future__ import annotations

from tests.faults.csms import Outcome, Receipt
from tests.faults.tally import Tally, markdown_table

ANSWERED, UNANSWERED, REFUSED = Outcome.ANSWERED, Outcome.UNANSWERED, Outcome.REFUSED


def received(*copies: tuple[int, Outcome]) -> list[Receipt]:
    return [
        Receipt("CP-1", "MeterValues", f"m{i}", marker, "1001", outcome)
        for i, (marker, outcome) in enumerate(copies)
    ]


def tally_of(sent: list[int], *copies: tuple[int, Outcome]) -> Tally:
    return Tally.of("case", "1.6", sent, received(*copies))


def test_everything_once_and_in_order_is_clean() -> None:
    tally = tally_of([0, 1, 2], (0, ANSWERED), (1, ANSWERED), (2, ANSWERED))
    assert (tally.sent, tally.received, tally.lost, tally.reordered, tally.duplicates) == (
        3,
        3,
        0,
        0,
        0,
    )


def test_a_marker_never_received_is_lost() -> None:
    assert tally_of([0, 1, 2], (0, ANSWERED), (2, ANSWERED)).lost == 1


def test_a_marker_received_only_as_a_refusal_is_lost() -> None:
    tally = tally_of([0, 1], (0, ANSWERED), (1, REFUSED))
    assert (tally.lost, tally.refused, tally.received) == (1, 1, 1)


def test_a_copy_after_a_later_marker_is_reordered() -> None:
    assert tally_of([0, 1, 2], (0, ANSWERED), (2, ANSWERED), (1, ANSWERED)).reordered == 1


def test_a_stale_duplicate_counts_as_reordered_too() -> None:
    tally = tally_of([0, 1], (0, UNANSWERED), (1, ANSWERED), (0, ANSWERED))
    assert (tally.reordered, tally.duplicates) == (1, 1)


def test_a_duplicate_after_a_lost_answer_is_the_excused_kind() -> None:
    tally = tally_of([0, 1], (0, UNANSWERED), (0, ANSWERED), (1, ANSWERED))
    assert (tally.duplicates, tally.duplicates_after_lost_answer) == (1, 1)
    assert tally.unexplained_duplicates == 0


def test_a_duplicate_of_an_answered_copy_is_unexplained() -> None:
    tally = tally_of([0, 1], (0, ANSWERED), (0, ANSWERED), (1, ANSWERED))
    assert (tally.duplicates, tally.unexplained_duplicates) == (1, 1)


def test_a_retry_after_a_refusal_is_no_duplicate() -> None:
    tally = tally_of([0], (0, REFUSED), (0, ANSWERED))
    assert (tally.duplicates, tally.refused, tally.lost) == (0, 1, 0)


def test_the_markdown_table_has_a_header_a_rule_and_a_row_per_tally() -> None:
    lines = markdown_table([tally_of([0], (0, ANSWERED))])
    assert lines[0].startswith("| case | version | sent |")
    assert lines[1].startswith("|---|")
    assert lines[2] == "| case | 1.6 | 1 | 1 | 0 | 0 | 0 | 0 | 0 |"
