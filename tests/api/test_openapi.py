"""Schemathesis against the API's own OpenAPI document: every operation, with generated
valid and invalid input, answers within its documented statuses and schemas, never with a
server error. The controller runs for real (its own event loop in a thread, port 0), with a
site whose stations are configured but offline, so station operations answer 409 or
NotConnected per station."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import Case
from schemathesis.core.result import Ok
from schemathesis.openapi import from_url

from localctl.config.model import LocalctlConfig
from localctl.service import Controller
from tests.api.conftest import API, TOKEN, api_config
from tests.conftest import own_state_directory


def controller_config() -> LocalctlConfig:
    return LocalctlConfig.model_validate(
        {
            "relay": {"listen": "127.0.0.1:0", "upstream_url": "ws://127.0.0.1:9/ocpp"},
            "site": {
                "nodes": [
                    {"id": "main", "kind": "grid_connection", "fuse_a": 32},
                    {"id": "sub", "kind": "sub_distribution", "parent": "main", "fuse_a": 16},
                ],
                "evses": [
                    {"id": "a", "node": "main"},
                    {"id": "b", "node": "sub", "phases": 1, "wiring": ["L2"]},
                ],
            },
            "stations": [{"id": "CP-1", "evses": {1: "a", 2: "b"}}],
            "control": {"period_s": 0.2},
            "api": api_config().model_dump(mode="python") | {"token": TOKEN},
        }
    )


class Running:
    """The controller on an event loop of its own, in a thread, until `close`."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.controller = Controller(controller_config())
        self._stop = asyncio.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        self.loop.run_until_complete(self.controller.run(self._stop))
        self.loop.close()

    def url(self) -> str:
        future = asyncio.run_coroutine_threadsafe(self.controller.started.wait(), self.loop)
        future.result(timeout=10)
        assert self.controller.api is not None
        return self.controller.api.url

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=30)
        assert not self._thread.is_alive()


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[schemathesis.BaseSchema]:
    with own_state_directory(tmp_path_factory):
        running = Running()
        try:
            url = running.url()
            yield from_url(f"{url}{API}/openapi.json")
        finally:
            running.close()


def test_every_operation_keeps_to_its_documented_contract(
    api_schema: schemathesis.BaseSchema,
) -> None:
    checked, failures = [], []
    for result in api_schema.get_all_operations():
        assert isinstance(result, Ok), result
        operation = result.ok()
        checked.append(operation.label)

        @given(operation.as_strategy())
        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
        def keeps_its_contract(case: Case[Any]) -> None:
            case.call_and_validate(headers={"Authorization": f"Bearer {TOKEN}"})

        try:
            keeps_its_contract()
        except Exception as exc:  # every operation's failure is collected, then reported
            failures.append(f"{operation.label}: {exc}")
    assert len(checked) >= 20, checked
    assert failures == []
