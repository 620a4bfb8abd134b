"""`make demo` must keep working: both demos run briefly and stop cleanly."""

from __future__ import annotations

import pytest

from localctl.demo import run_demo
from localctl.demo_relay import run_relay_demo


async def test_the_closed_loop_demo_shows_phases_against_their_fuses(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert await run_demo(duration_s=7.0) == 0
    out = capsys.readouterr().out
    assert "main L1" in out and "/  63.0 A [" in out
    assert "evse a1  limit" in out
    assert out.rstrip().endswith("demo stopped")


async def test_the_relay_demo_runs_and_stops(capsys: pytest.CaptureFixture[str]) -> None:
    assert await run_relay_demo(station_count=2, duration_s=3.0) == 0
    assert "CALL BootNotification" in capsys.readouterr().out
