"""Fixtures of the fault matrix, and the matrix itself printed at the end of the session."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import pytest

from localctl.io.relay_server import RelayServer
from localctl.offline import Outbox
from localctl.relay.schemas import SchemaRegistry
from tests.faults.csms import RecordingCsms
from tests.faults.tally import HEADER, MATRIX, table_rows
from tests.io.conftest import relay_config, schemas
from tests.io.test_outage import outbox
from tests.io.test_outage import settings as outage_settings

__all__ = ["outbox", "schemas"]  # fixtures shared with tests/io

RelayFactory = Callable[..., AbstractAsyncContextManager[RelayServer]]


@pytest.fixture
async def csms() -> AsyncIterator[RecordingCsms]:
    async with RecordingCsms() as server:
        yield server


@pytest.fixture
def relay(schemas: SchemaRegistry, outbox: Outbox) -> RelayFactory:
    """An in-process relay with offline operation on, fast reconnects (from 50 ms) and replay
    retries (3 attempts, 0.1 s apart times the attempt); `overrides` are `relay` config keys."""

    @asynccontextmanager
    async def running(upstream_url: str, **overrides: object) -> AsyncIterator[RelayServer]:
        config = relay_config(upstream_url, upstream_open_timeout_s=1.0, **overrides)
        async with RelayServer(config, schemas, outage=outage_settings(outbox)) as server:
            yield server

    return running


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not MATRIX:
        return
    rows = [HEADER, *table_rows(MATRIX)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADER))]
    terminalreporter.write_sep("=", "fault matrix: transaction messages, stations -> CSMS")
    for row in rows:
        cells = [
            cell.ljust(w) if i < 2 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ]
        terminalreporter.write_line("  ".join(cells))
