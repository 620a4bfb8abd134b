from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from localctl.sim.csms import StubCsms


@pytest.fixture
async def csms() -> AsyncIterator[StubCsms]:
    async with StubCsms() as server:
        yield server
