"""A bounded ring of what happened that an operator wants to see: commands and their
results, stations connecting and leaving, inputs going stale. Newest entries win."""

from __future__ import annotations

import itertools
import logging
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("localctl.api")


@dataclass(frozen=True, slots=True)
class Event:
    seq: int
    """increasing by one per entry: a client asks for what came after the last it saw"""
    time_s: float
    """wall-clock time (Unix seconds)"""
    kind: str
    message: str
    station_id: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)


class EventLog:
    def __init__(self, size: int, wall: Callable[[], float]) -> None:
        self._entries: deque[Event] = deque(maxlen=size)
        self._wall = wall
        self._seq = itertools.count(1)

    def record(
        self,
        kind: str,
        message: str,
        *,
        station_id: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> Event:
        event = Event(next(self._seq), self._wall(), kind, message, station_id, details or {})
        self._entries.append(event)
        log.info("%s: %s", kind, message, extra={"station_id": station_id or "-"})
        return event

    def since(self, seq: int, limit: int) -> list[Event]:
        """Up to `limit` entries after `seq`, oldest first."""
        newer = [e for e in self._entries if e.seq > seq]
        return newer[-limit:]
