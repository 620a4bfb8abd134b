"""Reconnect delays shared by every client that reconnects: meters and the CSMS link."""

from __future__ import annotations

import random


class Backoff:
    """Reconnect delays: doubling from min_s up to max_s, each drawn in [delay / 2, delay]."""

    def __init__(self, min_s: float, max_s: float, rng: random.Random) -> None:
        self._min_s = min_s
        self._max_s = max_s
        self._rng = rng
        self._failures = 0

    def next_delay_s(self) -> float:
        ceiling_s = min(self._max_s, self._min_s * 2.0 ** min(self._failures, 32))
        self._failures += 1
        return self._rng.uniform(ceiling_s / 2, ceiling_s)

    def reset(self) -> None:
        self._failures = 0
