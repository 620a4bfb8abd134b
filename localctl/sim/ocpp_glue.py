"""The one place that touches the untyped `ocpp` package's engine.

The package gives us message dataclasses and a ChargePoint class that packs and correlates
messages. Its handler registry is keyed by method name, so our
handler objects are plain typed classes whose methods carry `handles(...)`; the engine is
pointed at them with `bind_handlers`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

from ocpp import v16, v21, v201
from ocpp.routing import create_route_map, on

HandlerT = TypeVar("HandlerT", bound=Callable[..., Any])

OCPP16 = "ocpp1.6"
OCPP201 = "ocpp2.0.1"
OCPP21 = "ocpp2.1"

_ENGINE_BY_SUBPROTOCOL: dict[str, Any] = {
    OCPP16: v16.ChargePoint,
    OCPP201: v201.ChargePoint,
    OCPP21: v21.ChargePoint,
}


def handles(action: str) -> Callable[[HandlerT], HandlerT]:
    """Mark a method as the handler of one incoming OCPP action (typed `ocpp.routing.on`).

    The engine's own schema check is off: `OcppEndpoint` validates every frame it receives
    with the relay's compiled validators instead (see there why)."""
    return cast(Callable[[HandlerT], HandlerT], on(action, skip_schema_validation=True))


def create_engine(
    subprotocol: str, identity: str, connection: object, response_timeout_s: float
) -> Any:
    """An `ocpp` ChargePoint for the negotiated subprotocol, used only to pack and correlate."""
    engine_class = _ENGINE_BY_SUBPROTOCOL[subprotocol]
    return engine_class(identity, connection, response_timeout=response_timeout_s)


def bind_handlers(engine: Any, handlers: object) -> None:
    """Route incoming CALLs of `engine` to the `handles`-marked methods of `handlers`."""
    engine.route_map = create_route_map(handlers)


def iso_utc(moment: datetime) -> str:
    """OCPP's timestamp form: ISO 8601 in UTC with a `Z`, millisecond precision."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def utc_now() -> datetime:
    return datetime.now(UTC)


def parse_iso(text: str) -> datetime:
    """Parse an OCPP timestamp; a missing zone is read as UTC."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
