"""`localctl demo --relay-only`: the relay between a stub CSMS and simulated stations.

Half the stations speak OCPP 1.6J, half 2.0.1. Every relayed frame is printed as it passes,
and every so often the controller makes its own call to a station, whose answer is printed
but never reaches the CSMS. Ctrl-C stops everything cleanly. (`localctl demo` without the
flag runs the whole closed loop: `localctl.demo_site`.)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import signal
import sys
from dataclasses import dataclass

from localctl.config.model import RelayConfig
from localctl.io.relay_server import RelayServer
from localctl.io.station_link import OwnCallError
from localctl.relay.schemas import SchemaRegistry
from localctl.sim import SimStation16, SimStation201, StubCsms, run_station_life

log = logging.getLogger("localctl.demo")

_OWN_CALL_INTERVAL_S = 15.0
_METER_INTERVAL_S = 4.0
_ARROWS = {"station->csms": "station ──► csms   ", "csms->station": "station ◄── csms   "}


class TrafficFormatter(logging.Formatter):
    """One aligned line per relayed frame: time, station, direction, frame type, action."""

    def format(self, record: logging.LogRecord) -> str:
        time_text = self.formatTime(record, "%H:%M:%S")
        station_id = getattr(record, "station_id", "-")
        direction = _ARROWS.get(str(getattr(record, "direction", "")), "")
        if direction:
            return f"{time_text} {station_id:<8} {direction}{record.getMessage()}"
        return f"{time_text} {station_id:<8} {record.getMessage()}"


@dataclass(frozen=True)
class DemoStation:
    station_id: str
    station: SimStation16 | SimStation201


async def run_relay_demo(
    station_count: int = 4, duration_s: float | None = None, seed: int = 1
) -> int:
    _show_traffic()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    if duration_s is not None:
        loop.call_later(duration_s, stop.set)
    async with StubCsms() as csms:
        config = RelayConfig(listen="127.0.0.1:0", upstream_url=csms.url, log_traffic=True)
        async with RelayServer(config, SchemaRegistry()) as relay:
            url = f"ws://127.0.0.1:{relay.port}/ocpp"
            log.info("controller listening on %s/<station-id>, CSMS at %s", url, csms.url)
            log.info("%d simulated stations; Ctrl-C stops the demo", station_count)
            stations = [_make_station(url, number) for number in range(1, station_count + 1)]
            await _run_until(stop, relay, stations, random.Random(seed))
    log.info("demo stopped")
    return 0


def _make_station(url: str, number: int) -> DemoStation:
    station_id = f"CP-{number}"
    kind = SimStation16 if number % 2 else SimStation201
    return DemoStation(station_id, kind(url, station_id))


async def _run_until(
    stop: asyncio.Event, relay: RelayServer, stations: list[DemoStation], rng: random.Random
) -> None:
    async with asyncio.TaskGroup() as tasks:
        lives = [
            tasks.create_task(_live(demo.station, random.Random(rng.random()))) for demo in stations
        ]
        own_calls = tasks.create_task(_own_calls(relay, stations, rng))
        await stop.wait()
        for task in [*lives, own_calls]:
            task.cancel()


async def _live(station: SimStation16 | SimStation201, rng: random.Random) -> None:
    async with station:
        with contextlib.suppress(asyncio.CancelledError):
            await run_station_life(
                station, meter_interval_s=_METER_INTERVAL_S, sessions=None, rng=rng
            )


async def _own_calls(relay: RelayServer, stations: list[DemoStation], rng: random.Random) -> None:
    """Now and then the controller reads a station's sampling interval with its own call."""
    with contextlib.suppress(asyncio.CancelledError):
        while True:
            await asyncio.sleep(_OWN_CALL_INTERVAL_S)
            demo = rng.choice(stations)
            action, payload = _sampling_interval_query(demo.station)
            try:
                answer = await relay.call(demo.station_id, action, payload)
            except OwnCallError as exc:
                log.info(
                    "own call %s failed: %s", action, exc, extra={"station_id": demo.station_id}
                )
                continue
            log.info(
                "controller's own %s answered (not relayed to the CSMS): %s",
                action,
                answer,
                extra={"station_id": demo.station_id},
            )


def _sampling_interval_query(
    station: SimStation16 | SimStation201,
) -> tuple[str, dict[str, object]]:
    if isinstance(station, SimStation16):
        return "GetConfiguration", {"key": ["MeterValueSampleInterval"]}
    variable = {
        "component": {"name": "SampledDataCtrlr"},
        "variable": {"name": "TxUpdatedInterval"},
    }
    return "GetVariables", {"getVariableData": [variable]}


def _show_traffic() -> None:
    logging.getLogger("ocpp").setLevel(logging.WARNING)
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(TrafficFormatter())
    for name in ("localctl.traffic", "localctl.demo", "localctl.relay"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(logging.INFO)
        logger.propagate = False
