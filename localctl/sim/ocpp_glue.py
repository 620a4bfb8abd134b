"""Where the simulators meet the untyped `ocpp` package's engine (with `dispatch`).

The package gives us message dataclasses and a ChargePoint class that packs our CALLs and
correlates their answers. Handler objects are plain typed classes whose methods carry
`handles(...)`, the package's own route marker; `dispatch` answers incoming CALLs with them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

from ocpp import v16, v21, v201
from ocpp.routing import on

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
    """Mark a method as the handler of one incoming OCPP action (typed `ocpp.routing.on`)."""
    return cast(Callable[[HandlerT], HandlerT], on(action))


def create_engine(
    subprotocol: str, identity: str, connection: object, response_timeout_s: float
) -> Any:
    """An `ocpp` ChargePoint for the negotiated subprotocol, used only to pack and correlate."""
    engine_class = _ENGINE_BY_SUBPROTOCOL[subprotocol]
    return engine_class(identity, connection, response_timeout=response_timeout_s)


def iso_utc(moment: datetime) -> str:
    """OCPP's timestamp form: ISO 8601 in UTC with a `Z`, millisecond precision."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def utc_now() -> datetime:
    return datetime.now(UTC)


def parse_iso(text: str) -> datetime:
    """Parse an OCPP timestamp; a missing zone is read as UTC."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
