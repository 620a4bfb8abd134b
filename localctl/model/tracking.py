"""What a translator must remember between frames of one station, bounded in size.

1.6 StopTransaction and the meter values in its transactionData name no connector, and 2.0.1
TransactionEvent carries its EVSE only until the CSMS knows it (E01.FR.16), so the EVSE of
each open transaction is kept. 2.0.1 seqNo values already seen are kept per transaction so a
replayed message is not counted twice.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TypeVar

_V = TypeVar("_V")

_MAX_TRANSACTIONS = 256  # far above any station's EVSE count; old entries are dropped first


@dataclass(slots=True)
class TransactionTracker:
    _evse_by_transaction: OrderedDict[str, int] = field(default_factory=OrderedDict)
    _seen_seq_nos: OrderedDict[str, set[int]] = field(default_factory=OrderedDict)
    _ended: OrderedDict[str, None] = field(default_factory=OrderedDict)

    def started(self, transaction_id: str, evse_id: int) -> None:
        self._evse_by_transaction[transaction_id] = evse_id
        self._evse_by_transaction.move_to_end(transaction_id)
        _trim(self._evse_by_transaction)

    def evse_of(self, transaction_id: str) -> int | None:
        return self._evse_by_transaction.get(transaction_id)

    def ended(self, transaction_id: str) -> bool:
        """True the first time the transaction ends; False for a repeated end (a 1.6
        StopTransaction sent again after its answer was lost). The seqNos stay, bounded, so a
        replayed 2.0.1 Ended is caught too."""
        self._evse_by_transaction.pop(transaction_id, None)
        if transaction_id in self._ended:
            return False
        self._ended[transaction_id] = None
        _trim(self._ended)
        return True

    def first_time(self, transaction_id: str, seq_no: int) -> bool:
        """True the first time `seq_no` is seen for the transaction, False for a replay."""
        seen = self._seen_seq_nos.setdefault(transaction_id, set())
        self._seen_seq_nos.move_to_end(transaction_id)
        _trim(self._seen_seq_nos)
        if seq_no in seen:
            return False
        seen.add(seq_no)
        return True


def _trim(entries: OrderedDict[str, _V]) -> None:
    while len(entries) > _MAX_TRANSACTIONS:
        entries.popitem(last=False)
