"""`OperatorApi`: the HTTP API, dashboard and metrics of one controller, in its process and
on its event loop. The controller enters it (binding the listening socket, so the port is
known at once, even with port 0), runs it as one of its workers and feeds it the relay's
events; uvicorn serves the FastAPI application on the bound socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Generator
from datetime import UTC, datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any

import uvicorn
from prometheus_client import CollectorRegistry

from localctl.api.app import create_app
from localctl.api.auth import resolve_token
from localctl.api.event_log import EventLog
from localctl.api.history import History
from localctl.api.metrics import SiteCollector, TrafficCounters
from localctl.api.remote import RemoteStations
from localctl.api.schemas import HistorySample
from localctl.api.views import Views
from localctl.config.api import ApiConfig
from localctl.relay.events import FrameRelayed, LinkClosed, LinkEvent, LinkOpened
from localctl.security.tls import OCPP_TLS12_CIPHERS
from localctl.site.state import InputTransition

if TYPE_CHECKING:
    from localctl.service import Controller

log = logging.getLogger("localctl.api")

_SHUTDOWN_GRACE_S = 2.0


class _EmbeddedServer(uvicorn.Server):
    """uvicorn inside a process that handles its own signals: leave them alone."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


class OperatorApi:
    def __init__(self, controller: Controller, config: ApiConfig) -> None:
        self.controller = controller
        self.config = config
        clocks = controller.clocks
        self.events = EventLog(config.event_log_size, clocks.wall)
        self.views = Views(controller, clocks.wall)
        self.history = History.covering(config.history_s, config.history_interval_s)
        self.traffic = TrafficCounters(clocks.monotonic)
        self.metrics_registry = CollectorRegistry(auto_describe=False)
        self.metrics_registry.register(SiteCollector(controller, self.traffic))
        self.remote = RemoteStations(
            controller.relay,
            self.events,
            locked=config.csms_locked_parameters,
            report_timeout_s=config.report_timeout_s,
            next_request_id=lambda: clocks.rng.randrange(100_000_000),
        )
        self.app = create_app(self, resolve_token(config))
        self._socket: socket.socket | None = None

    # -- lifecycle ------------------------------------------------------------------------------

    async def __aenter__(self) -> OperatorApi:
        self._socket = socket.create_server(
            (self.config.listen_host, self.config.listen_port), reuse_port=False
        )
        self._socket.setblocking(False)
        log.info("operator API on %s/api/v1, dashboard on %s/dashboard/", self.url, self.url)
        if not self.config.loopback_only and self.config.tls is None:
            log.warning(
                "operator API on %s without TLS: the bearer token crosses the network in clear; "
                "put a TLS proxy in front of it",
                self.config.listen,
            )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._socket is not None:
            self._socket.close()

    @property
    def port(self) -> int:
        assert self._socket is not None, "enter the API first"
        port: int = self._socket.getsockname()[1]
        return port

    @property
    def url(self) -> str:
        host = self.config.listen_host
        scheme = "http" if self.config.tls is None else "https"
        return f"{scheme}://{'[' + host + ']' if ':' in host else host}:{self.port}"

    async def run(self) -> None:
        """Serve until cancelled, then shut the server down cleanly; sample the history."""
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(self._serve())
            tasks.create_task(self._sample_history())

    async def _serve(self) -> None:
        assert self._socket is not None, "enter the API first"
        config = uvicorn.Config(
            self.app, lifespan="off", log_config=None, access_log=False,
            timeout_graceful_shutdown=int(_SHUTDOWN_GRACE_S), **_tls_options(self.config),
        )  # fmt: skip
        server = _EmbeddedServer(config)
        serving = asyncio.create_task(server.serve(sockets=[self._socket]), name="api-http")
        try:
            await asyncio.shield(serving)
        except asyncio.CancelledError:
            server.should_exit = True
            await serving
            raise

    async def _sample_history(self) -> None:
        while True:
            self.history.add(self._sample())
            await asyncio.sleep(self.config.history_interval_s)

    def _sample(self) -> HistorySample:
        snapshot = self.controller.site_state.snapshot()
        report = self.controller.loop.last if self.controller.loop else None
        return HistorySample(
            time=datetime.fromtimestamp(self.controller.clocks.wall(), UTC),
            measured_a={
                m.node_id: [round(a, 2) for a in m.reading.current_a]
                for m in snapshot.meters
                if m.reading is not None
            },
            allocated_a={
                n.node_id: [round(a, 2) for a in n.ev_load_a]
                for n in (report.allocation.nodes if report else ())
            },
        )

    # -- what the controller tells it ---------------------------------------------------------

    def on_link_event(self, station_id: str, event: LinkEvent) -> None:
        self.traffic.observe(station_id, event)
        if isinstance(event, FrameRelayed):
            self.remote.on_frame(station_id, event)
        elif isinstance(event, LinkOpened):
            self.events.record(
                "station", f"{station_id} connected ({event.version.value})", station_id=station_id
            )
        elif isinstance(event, LinkClosed):
            self.remote.forget(station_id)
            self.events.record("station", f"{station_id} disconnected", station_id=station_id)

    def input_transition(self, transition: InputTransition, meaning: str) -> None:
        previous = "unknown" if transition.previous is None else transition.previous.value
        self.events.record(
            "input",
            f"{transition.input_id}: {previous} -> {transition.current.value} ({meaning})",
        )


def _tls_options(config: ApiConfig) -> dict[str, Any]:
    """uvicorn's HTTPS settings: the configured certificate, the OCPP TLS 1.2 suites."""
    if config.tls is None:
        return {}
    return {
        "ssl_certfile": config.tls.cert_file,
        "ssl_keyfile": config.tls.key_file,
        "ssl_ciphers": OCPP_TLS12_CIPHERS,
    }
