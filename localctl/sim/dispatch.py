"""Incoming CALLs to the simulators' handler methods, answered as OCPP-J frames.

The `ocpp` engine can route CALLs too, but per message it reads each handler's signature,
rewrites every key with two regular expressions and serialises the answer through
`dataclasses.asdict`: in the 500-EVSE latency benchmark that was a third of the simulated
site's CPU, and the site's answers, not the controller, set the latency measured. Here the
routes are read once per handler object and each key is converted once per process, with the
package's own conversion functions, so the payloads the handlers see and the answers they
give are exactly what the engine would make of them.
"""

from __future__ import annotations

import inspect
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from ocpp.charge_point import (
    camel_to_snake_case,
    remove_nones,
    serialize_as_dict,
    snake_to_camel_case,
)
from ocpp.exceptions import OCPPError
from ocpp.routing import create_route_map

LOGGER = logging.getLogger(__name__)

_CALLRESULT = 3
_CALLERROR = 4


@cache
def snake_key(key: str) -> str:
    """`key` (camelCase) as the engine hands it to a handler."""
    converted: dict[str, None] = camel_to_snake_case({key: None})
    return next(iter(converted))


@cache
def camel_key(key: str) -> str:
    """`key` (snake_case) as the engine writes it in an answer."""
    converted: dict[str, None] = snake_to_camel_case({key: None})
    return next(iter(converted))


def _converted(data: Any, key_for: Callable[[str], str]) -> Any:
    if isinstance(data, dict):
        return {key_for(key): _converted(value, key_for) for key, value in data.items()}
    if isinstance(data, list):
        return [_converted(value, key_for) for value in data]
    return data


def to_snake_case(payload: Any) -> Any:
    return _converted(payload, snake_key)


def to_camel_case(payload: Any) -> Any:
    return _converted(payload, camel_key)


@dataclass(frozen=True, slots=True)
class _Route:
    handler: Callable[..., Any]
    wants_message_id: bool


class CallDispatcher:
    """Answers a CALL with the `handles`-marked method of one handler object."""

    def __init__(self, handlers: object) -> None:
        self._routes: dict[str, _Route] = {}
        for action, hooks in create_route_map(handlers).items():
            assert "_after_action" not in hooks, "the simulators use after_reply instead"
            handler = hooks["_on_action"]
            wants_message_id = "call_unique_id" in inspect.signature(handler).parameters
            self._routes[action] = _Route(handler, wants_message_id)

    async def answer(self, message_id: str, action: str, payload: dict[str, Any]) -> str:
        """The CALLRESULT or CALLERROR frame that answers the CALL (its payload already
        passed its schema)."""
        route = self._routes.get(action)
        if route is None:
            # OCPP-J 1.6 4.2.3, OCPP 2.0.1 part 4 4.3: a known action the receiver does not
            # support is NotSupported (an unknown one, NotImplemented, never gets this far).
            return _error_frame(message_id, "NotSupported", f"{action} is not supported")
        kwargs = to_snake_case(payload)
        if route.wants_message_id:
            kwargs["call_unique_id"] = message_id
        try:
            response = route.handler(**kwargs)
            if inspect.isawaitable(response):
                response = await response
        except OCPPError as error:
            return _error_frame(message_id, error.code, error.description)
        except Exception as error:  # a handler's bug is the peer's InternalError, as on a station
            LOGGER.exception("handling %s %s failed", action, message_id)
            return _error_frame(message_id, "InternalError", f"{type(error).__name__}: {error}")
        answer = to_camel_case(remove_nones(serialize_as_dict(response)))
        return json.dumps([_CALLRESULT, message_id, answer], separators=(",", ":"))


def _error_frame(message_id: str, code: str, description: str) -> str:
    return json.dumps([_CALLERROR, message_id, code, description, {}], separators=(",", ":"))
