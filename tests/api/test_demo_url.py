"""`make demo` prints the dashboard's URL, with a token made for the run in its fragment."""

from __future__ import annotations

import re

import pytest

from localctl.demo import run_demo


async def test_the_demo_prints_the_dashboard_url(capsys: pytest.CaptureFixture[str]) -> None:
    assert await run_demo(duration_s=2.0) == 0
    out = capsys.readouterr().out
    match = re.search(r"^dashboard: (http://127\.0\.0\.1:\d+/dashboard/#token=\S{20,})$", out, re.M)
    assert match, out
