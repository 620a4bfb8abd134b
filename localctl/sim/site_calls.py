"""How the simulated site talks to its stations: ordered per station, concurrent across them,
failures recorded rather than fatal, and reconnection after a drop.

A real station that loses its connection keeps charging on the profiles it holds and comes
back later; the site does the same, so a test can kill the controller and watch the floors.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass

from websockets.exceptions import ConnectionClosed, InvalidHandshake

from localctl.sim.clock import SimClock
from localctl.sim.errors import SimError
from localctl.sim.site_stations import SiteStation

Action = Callable[[], Awaitable[object]]
LOGGER = logging.getLogger(__name__)
# What a station's OCPP call can meet when its peer is gone or misbehaves.
_CALL_FAILURES = (SimError, TimeoutError, ConnectionClosed, InvalidHandshake, OSError)


@dataclass(frozen=True)
class CallFailure:
    """An OCPP call (or reconnection) of a station that failed; the site carried on."""

    time_s: float
    station_id: str
    error: str


def bind(method: Callable[..., Awaitable[object]], *args: object) -> Action:
    async def call() -> object:
        return await method(*args)

    return call


class StationCalls:
    """Runs the site's OCPP actions; `ports` lists each station's configured ports."""

    def __init__(
        self,
        stations: Mapping[str, SiteStation],
        ports: Mapping[str, Sequence[int]],
        clock: SimClock,
        reconnect_after_s: float | None,
    ) -> None:
        self._stations = stations
        self._ports = ports
        self._clock = clock
        self._reconnect_after_s = reconnect_after_s
        self._last_connect_s: dict[str, float] = {}
        self.failures: list[CallFailure] = []

    async def run(self, actions: Mapping[str, Sequence[Action]]) -> None:
        """Each station's actions in order, stations concurrently; failures are recorded and
        the station's next action still runs."""

        async def in_order(station_id: str, sequence: Sequence[Action]) -> None:
            for action in sequence:
                try:
                    await action()
                except _CALL_FAILURES as exc:
                    self._record(station_id, exc)

        async with asyncio.TaskGroup() as group:
            for station_id, sequence in actions.items():
                if sequence:
                    group.create_task(in_order(station_id, sequence), name=f"site:{station_id}")

    def boot_actions(self, station_id: str) -> list[Action]:
        """BootNotification, then each port's status as the station knows it."""
        station = self._stations[station_id]
        statuses = [
            bind(station.status, port, station.connector_status.get(port, "Available"))
            for port in self._ports[station_id]
        ]
        return [station.boot, *statuses]

    def reconnections(self, now_s: float) -> dict[str, list[Action]]:
        """A reconnect for every dropped station whose last attempt is long enough ago."""
        retry_s = self._reconnect_after_s
        if retry_s is None:
            return {}
        actions: dict[str, list[Action]] = {}
        for station_id, station in self._stations.items():
            if station.connected or now_s - self._last_connect_s.get(station_id, 0.0) < retry_s:
                continue
            self._last_connect_s[station_id] = now_s
            actions[station_id] = [self._reconnect(station_id)]
        return actions

    def _reconnect(self, station_id: str) -> Action:
        async def reconnect() -> None:
            await self._stations[station_id].connect()
            for action in self.boot_actions(station_id):
                await action()

        return reconnect

    def _record(self, station_id: str, exc: BaseException) -> None:
        failure = CallFailure(self._clock.now_s, station_id, repr(exc))
        LOGGER.warning("%s at %.1f s: %s", station_id, failure.time_s, failure.error)
        self.failures.append(failure)
