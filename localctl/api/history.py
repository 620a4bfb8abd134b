"""The last hour (by default) of the site, sampled at a fixed interval for the dashboard's
chart: per metered node its measured current, per node the EV allocation below it."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from localctl.api.schemas import HistorySample


@dataclass(frozen=True, slots=True)
class History:
    interval_s: float
    samples: deque[HistorySample]

    @classmethod
    def covering(cls, span_s: float, interval_s: float) -> History:
        return cls(interval_s, deque(maxlen=max(1, math.ceil(span_s / interval_s))))

    def add(self, sample: HistorySample) -> None:
        self.samples.append(sample)
