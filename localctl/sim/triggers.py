"""The messages a simulated station sends when TriggerMessage asks for them (both versions)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from localctl.sim.endpoint import FollowUp


class Triggerable(Protocol):
    connector_status: dict[int, str]
    last_reading: dict[int, tuple[tuple[float, ...], float]]

    async def heartbeat(self) -> Any: ...
    async def status(self, port: int, status: str, /) -> Any: ...
    async def meter_values(
        self, port: int, current_a: Sequence[float], energy_wh: float, /
    ) -> Any: ...


def triggered(station: Triggerable, message: str, port: int, boot: FollowUp) -> FollowUp | None:
    """The follow-up that sends `message` for `port`, or None if the station cannot send it."""

    async def heartbeat() -> None:
        await station.heartbeat()

    async def status() -> None:
        await station.status(port, station.connector_status.get(port, "Available"))

    async def meter() -> None:
        current_a, energy_wh = station.last_reading.get(port, ((0.0, 0.0, 0.0), 0.0))
        await station.meter_values(port, current_a, energy_wh)

    triggers: dict[str, FollowUp] = {
        "BootNotification": boot,
        "Heartbeat": heartbeat,
        "StatusNotification": status,
        "MeterValues": meter,
    }
    return triggers.get(message)
