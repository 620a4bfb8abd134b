"""What the stations sent against what the CSMS received: lost, reordered, duplicated.

Each station numbers its transaction messages with a marker of its own (a meter reading in
1.6, the seqNo in 2.0.1), so the CSMS's record can be checked without trusting the relay:
- lost: a marker the station was answered for that the CSMS never received;
- reordered: a copy received after a copy with a later marker (a late first copy or a stale
  duplicate: either way the CSMS saw history out of order);
- duplicates: copies beyond the first. OCPP delivers transaction messages at least once, so a
  duplicate is acceptable only where the CSMS got a copy but its answer never went out (the
  socket or the process died first): `duplicates_after_lost_answer` counts those, and any
  other duplicate is a fault.
CALLERROR answers are refusals: the CSMS did not take the message, so they are counted apart
and neither receive nor duplicate anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tests.faults.csms import Outcome, Receipt


@dataclass(frozen=True, slots=True)
class Tally:
    case: str
    version: str
    sent: int
    received: int
    lost: int
    reordered: int
    duplicates: int
    duplicates_after_lost_answer: int
    refused: int

    @classmethod
    def of(cls, case: str, version: str, sent: Sequence[int], receipts: Sequence[Receipt]) -> Tally:
        taken = [r for r in receipts if r.outcome is not Outcome.REFUSED]
        copies: dict[int, list[Receipt]] = {}
        reordered = 0
        highest = None
        for receipt in taken:
            if highest is not None and receipt.marker < highest:
                reordered += 1
            highest = receipt.marker if highest is None else max(highest, receipt.marker)
            copies.setdefault(receipt.marker, []).append(receipt)
        duplicates = after_lost_answer = 0
        for same in copies.values():
            for index in range(1, len(same)):
                duplicates += 1
                if all(c.outcome is Outcome.UNANSWERED for c in same[:index]):
                    after_lost_answer += 1
        return cls(
            case,
            version,
            sent=len(sent),
            received=len(taken),
            lost=len(set(sent) - copies.keys()),
            reordered=reordered,
            duplicates=duplicates,
            duplicates_after_lost_answer=after_lost_answer,
            refused=len(receipts) - len(taken),
        )

    @property
    def unexplained_duplicates(self) -> int:
        """Duplicates OCPP does not excuse: the CSMS had answered an earlier copy."""
        return self.duplicates - self.duplicates_after_lost_answer


# Every tally of this pytest session, for the terminal summary (conftest.py).
MATRIX: list[Tally] = []

HEADER = (
    "case",
    "version",
    "sent",
    "received",
    "lost",
    "reordered",
    "duplicates",
    "of which answer lost",
    "refused (CALLERROR)",
)


def table_rows(tallies: Sequence[Tally]) -> list[tuple[str, ...]]:
    return [
        (
            t.case,
            t.version,
            str(t.sent),
            str(t.received),
            str(t.lost),
            str(t.reordered),
            str(t.duplicates),
            str(t.duplicates_after_lost_answer),
            str(t.refused),
        )
        for t in tallies
    ]


def markdown_table(tallies: Sequence[Tally]) -> list[str]:
    rows = [HEADER, *table_rows(tallies)]
    lines = ["| " + " | ".join(row) + " |" for row in rows]
    lines.insert(1, "|" + "|".join("---" for _ in HEADER) + "|")
    return lines
