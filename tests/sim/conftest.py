from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest

from localctl.sim.csms import StubCsms


@pytest.fixture
async def csms() -> AsyncIterator[StubCsms]:
    async with StubCsms() as server:
        yield server


async def eventually(condition: Callable[[], bool], timeout_s: float = 2.0) -> None:
    """Wait until `condition()` holds; for messages sent after an answer."""
    async with asyncio.timeout(timeout_s):
        while not condition():
            await asyncio.sleep(0.005)
