"""What both simulated stations share: the connection, the receive task, the records.

A station connects to `url/station_id` offering its subprotocol(s), checks that the server
chose the OCPP version it speaks, and runs its receive loop in a supervised task. The
version-specific classes add the OCPP calls and the handlers.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, ClassVar, Protocol, Self, TypedDict
from urllib.parse import quote

from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

from localctl.sim.endpoint import (
    MAX_LOGGED_CALLS,
    CallLog,
    FollowUp,
    FrameHook,
    JsonObject,
    OcppEndpoint,
    ReceivedCall,
    ReplyScript,
    ResultHook,
)
from localctl.sim.errors import NotConnectedError, SimError, SubprotocolMismatchError
from localctl.sim.ocpp_glue import utc_now
from localctl.sim.profile_store import ProfileStore
from localctl.sim.quirks import COMPLIANT, StationQuirks
from localctl.sim.sharing import share_station_cap
from localctl.sim.tasks import TaskSupervisor

Clock = Callable[[], datetime]


@dataclasses.dataclass(frozen=True)
class StationIdentity:
    """What the station reports in its BootNotification."""

    vendor: str = "localctl-sim"
    model: str = "SimBox-22"
    firmware_version: str = "1.0.0"
    max_current_a: float = 32.0


class ConnectionOptions(TypedDict, total=False):
    """The keyword options of `SimStationBase`, for the version classes to pass on."""

    subprotocols: Sequence[str] | None
    extra_headers: Mapping[str, str] | None
    identity: StationIdentity
    reply_delay_s: float
    response_timeout_s: float
    open_timeout_s: float
    clock: Clock
    on_frame: FrameHook | None
    quirks: StationQuirks
    logged_calls: int


class SimStationBase:
    """Connection handling shared by `SimStation16` and `SimStation201`.

    `subprotocols` is the offer list (default: the version the class speaks);
    `extra_headers` go into the handshake (e.g. basic auth); `reply_delay_s` delays every
    answer; `clock` gives the time for timestamps and profiles; `on_frame` sees every frame;
    `quirks` is how this station model deviates from the specification; `logged_calls` how
    many of the newest CALLs received it keeps (`received`). `ports` is the number of
    connectors (1.6) or EVSEs (2.0.1).
    """

    speaks: ClassVar[str]

    def __init__(
        self,
        url: str,
        station_id: str,
        *,
        subprotocols: Sequence[str] | None = None,
        extra_headers: Mapping[str, str] | None = None,
        identity: StationIdentity = StationIdentity(),
        reply_delay_s: float = 0.0,
        response_timeout_s: float = 10.0,
        open_timeout_s: float = 5.0,
        clock: Clock = utc_now,
        on_frame: FrameHook | None = None,
        quirks: StationQuirks = COMPLIANT,
        logged_calls: int = MAX_LOGGED_CALLS,
        ports: int = 1,
    ) -> None:
        self.url = url
        self.station_id = station_id
        self.identity = identity
        self.offered_subprotocols = tuple(subprotocols or (self.speaks,))
        self.call_log = CallLog(logged_calls)
        # How this station deviates from its normal answers; see `ReplyScript`.
        self.script = ReplyScript()
        self.profiles = ProfileStore(identity.max_current_a, ports=ports, quirks=quirks)
        # Phases wired to each port, for limits reported in W; 3 unless the site says less.
        self.port_phases: dict[int, int] = {}
        self._extra_headers = dict(extra_headers or {})
        self._reply_delay_s = reply_delay_s
        self._response_timeout_s = response_timeout_s
        self._open_timeout_s = open_timeout_s
        self._clock = clock
        self._on_frame = on_frame
        self._connection: ClientConnection | None = None
        self._endpoint: OcppEndpoint | None = None
        self._supervisor = TaskSupervisor(station_id)

    async def connect(self) -> None:
        """Open the WebSocket (handshake errors from websockets propagate) and start serving."""
        if self._connection is not None and self._connection.close_code is None:
            raise SimError(f"{self.station_id} is already connected")
        connection = await connect(
            f"{self.url}/{quote(self.station_id, safe='')}",
            subprotocols=[Subprotocol(name) for name in self.offered_subprotocols],
            additional_headers=self._extra_headers,
            open_timeout=self._open_timeout_s,
        )
        if connection.subprotocol != self.speaks:
            await connection.close()
            raise SubprotocolMismatchError(
                f"{self.station_id} speaks {self.speaks}, server chose {connection.subprotocol}"
            )
        self._connection = connection
        self._endpoint = OcppEndpoint(
            identity=self.station_id,
            connection=connection,
            handlers=self,
            supervisor=self._supervisor,
            response_timeout_s=self._response_timeout_s,
            reply_delay_s=self._reply_delay_s,
            call_log=self.call_log,
            script=self.script,
            on_frame=self._on_frame,
        )
        self._supervisor.spawn(self._endpoint.run(), "receive")

    async def close(self) -> None:
        """Close the socket and wait for every task; re-raises a task's failure."""
        if self._connection is not None:
            await self._connection.close()
        await self._supervisor.aclose()

    async def wait_disconnected(self) -> None:
        """Return once the connection is closed, by either side."""
        if self._connection is not None:
            await self._connection.wait_closed()

    async def __aenter__(self) -> Self:
        await self.connect()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    @property
    def received(self) -> list[tuple[str, JsonObject]]:
        """(action, wire payload) of the CALLs received (the newest `logged_calls`), oldest
        first."""
        return [(call.action, call.payload) for call in self.call_log.calls]

    @property
    def received_calls(self) -> list[ReceivedCall]:
        """Like `received`, with message ids."""
        return list(self.call_log.calls)

    async def wait_for_call(
        self, action: str, count: int = 1, timeout_s: float = 5.0
    ) -> ReceivedCall:
        """The `count`-th `action` CALL received, waiting until it arrives."""
        return await self.call_log.wait_for(action, count, timeout_s)

    @property
    def connected(self) -> bool:
        return self._connection is not None and self._connection.close_code is None

    @property
    def subprotocol(self) -> str | None:
        return None if self._connection is None else self._connection.subprotocol

    @property
    def quirks(self) -> StationQuirks:
        return self.profiles.quirks

    def current_limit_a(self, port: int) -> float:
        """What the installed profiles and the hardware let this port draw now, per phase.

        A station that ignores profiles offers its hardware maximum whatever it accepted.
        """
        if self.quirks.ignores_profiles:
            return self.profiles.hardware_a(port)
        return self.profiles.limit_a(port, self._clock())

    def offers_a(self, charging_ports: Sequence[int]) -> dict[int, float]:
        """The pilot current offered to each port with a charging EV (oldest session first).

        Each port gets what its own profiles allow, and together they stay within the
        station-wide cap (see `sharing.py`).
        """
        now = self._clock()
        if self.quirks.ignores_profiles:
            return {port: self.profiles.hardware_a(port) for port in charging_ports}
        wants_a = {port: self.profiles.port_limit_a(port, now) for port in charging_ports}
        return share_station_cap(self.profiles.station_cap_a(now), wants_a)

    def phases_of(self, port: int) -> int:
        return self.port_phases.get(port, 3)

    async def _call(self, payload: object, on_result: ResultHook | None = None) -> Any:
        if self._endpoint is None:
            raise NotConnectedError(f"{self.station_id} has not connected")
        return await self._endpoint.call(payload, on_result)

    def _after_reply(self, name: str, follow_up: FollowUp) -> None:
        assert self._endpoint is not None, "handlers run only on a connected station"
        self._endpoint.after_reply(name, follow_up)


class LifecycleStation(Protocol):
    """What `run_station_life` needs; `port` is the connector (1.6) or EVSE (2.0.1) id."""

    async def boot(self) -> Any: ...
    async def heartbeat(self) -> Any: ...
    async def set_available(self, port: int, /) -> Any: ...
    async def plug_in(self, port: int, /) -> Any: ...
    async def authorize(self, token: str, /) -> Any: ...
    async def start_charging(self, port: int, token: str, /) -> Any: ...
    async def meter_values(
        self,
        port: int,
        current_a: Sequence[float],
        energy_wh: float,
        /,
        *,
        soc_percent: float | None = None,
    ) -> Any: ...
    async def stop_charging(self, port: int, energy_wh: float, /) -> Any: ...
    async def unplug(self, port: int, /) -> Any: ...
    def current_limit_a(self, port: int, /) -> float: ...
