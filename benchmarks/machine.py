"""What every benchmark records about the machine it ran on."""

from __future__ import annotations

import contextlib
import os
import platform
from pathlib import Path


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "unknown"


def machine() -> dict[str, str]:
    """Cores, CPU model, Python and kernel; benchmarks add what matters to them."""
    return {
        "nproc": str(os.cpu_count()),
        "cpu_model": cpu_model(),
        "python": platform.python_version(),
        "kernel": platform.release(),
    }
