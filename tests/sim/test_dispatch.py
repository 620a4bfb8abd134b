"""The simulators' CALL dispatcher gives handlers what the `ocpp` engine would and answers
with the frames the specifications ask for."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from ocpp.charge_point import camel_to_snake_case, snake_to_camel_case
from ocpp.exceptions import SecurityError
from ocpp.v16 import call_result

from localctl.sim.dispatch import CallDispatcher, to_camel_case, to_snake_case
from localctl.sim.ocpp_glue import handles

words = st.text("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_", max_size=24)
documents = st.recursive(
    st.none() | st.integers() | st.text(max_size=4),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(words, inner, max_size=4),
    max_leaves=12,
)


@given(documents)
def test_keys_are_converted_as_the_engine_converts_them(document: Any) -> None:
    assert to_snake_case(document) == camel_to_snake_case(document)
    assert to_camel_case(document) == snake_to_camel_case(document)


class Handlers:
    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []

    @handles("ChangeConfiguration")
    async def on_change(self, key: str, value: str, call_unique_id: str) -> Any:
        self.seen.append({"key": key, "value": value, "id": call_unique_id})
        return call_result.ChangeConfiguration(status="Accepted")

    @handles("GetConfiguration")
    def on_get(self, key: list[str] | None = None) -> Any:
        del key
        return call_result.GetConfiguration(configuration_key=None, unknown_key=["X"])

    @handles("Reset")
    def on_reset(self, type: str) -> Any:  # noqa: A002 - the payload's own name
        raise ValueError(f"cannot {type}")

    @handles("ClearCache")
    def on_clear(self) -> Any:
        raise SecurityError(description="not you")


async def test_handlers_get_snake_case_and_answers_leave_out_what_is_unset() -> None:
    handlers = Handlers()
    dispatcher = CallDispatcher(handlers)
    changed = await dispatcher.answer("m1", "ChangeConfiguration", {"key": "K", "value": "1"})
    got = await dispatcher.answer("m2", "GetConfiguration", {})
    assert json.loads(changed) == [3, "m1", {"status": "Accepted"}]
    assert json.loads(got) == [3, "m2", {"unknownKey": ["X"]}]
    assert handlers.seen == [{"key": "K", "value": "1", "id": "m1"}]


async def test_failures_are_answered_with_callerrors() -> None:
    dispatcher = CallDispatcher(Handlers())
    crashed = json.loads(await dispatcher.answer("m1", "Reset", {"type": "Hard"}))
    refused = json.loads(await dispatcher.answer("m2", "ClearCache", {}))
    unsupported = json.loads(await dispatcher.answer("m3", "UnlockConnector", {"connectorId": 1}))
    assert crashed[:3] == [4, "m1", "InternalError"] and "cannot Hard" in crashed[3]
    assert refused == [4, "m2", "SecurityError", "not you", {}]
    assert unsupported[:3] == [4, "m3", "NotSupported"]
