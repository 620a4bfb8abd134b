"""`localctl run` with a note on stderr for every long garbage-collector pause.

    python -m benchmarks.relay_gc_probe run --config FILE

Used by `relay_bench --gc-probe` to tell the relay's own stalls from the load generator's:
a collection is invisible from outside the process, but its pause lands in the tail latency.
The callback costs about a microsecond per collection and changes nothing else.
"""

from __future__ import annotations

import gc
import sys
import time
from typing import Any

from localctl.cli import main

MIN_PAUSE_MS = 5.0
_started_s = [0.0]


def _on_gc(phase: str, info: dict[str, Any]) -> None:
    if phase == "start":
        _started_s[0] = time.perf_counter()
        return
    pause_ms = (time.perf_counter() - _started_s[0]) * 1000
    if pause_ms >= MIN_PAUSE_MS:
        # CLOCK_MONOTONIC is shared by every process, so the bench can place this in its windows.
        generation = info["generation"]
        note = f"gc-probe gen={generation} pause_ms={pause_ms:.1f} at_s={time.monotonic():.3f}"
        print(note, file=sys.stderr, flush=True)


if __name__ == "__main__":
    gc.callbacks.append(_on_gc)
    sys.exit(main(sys.argv[1:]))
