"""What the outbox stores, as frozen values."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """One transaction-related CALL a station sent, stored before the station was answered."""

    seq: int  # global, strictly increasing, never reused
    station_id: str
    action: str  # StartTransaction, StopTransaction, MeterValues, TransactionEvent
    message_id: str  # the station's original message id
    frame_text: str  # the station's original CALL frame, exactly as received
    local_transaction_id: str | None
    received_wall_s: float


# Column order of every SELECT that builds an OutboxEntry.
ENTRY_COLUMNS = (
    "seq, station_id, action, message_id, frame_text, local_transaction_id, received_wall_s"
)


def entry_from_row(row: tuple[int, str, str, str, str, str | None, float]) -> OutboxEntry:
    return OutboxEntry(*row)
