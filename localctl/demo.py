"""`localctl demo`: the whole closed loop on a simulated site, all on loopback.

The site is `site-configs/demo.yaml`: a 3 x 63 A grid connection, two sub-distributions and
eight EVSEs on four stations (1.6 and 2.0.1). A stub CSMS stands upstream; the stations, their
EVs (1- and 3-phase, with reaction delays and tapering batteries), a base load following the
time of day and an SDM630 grid meter served over Modbus TCP are simulated; the controller is
the real one. Every two seconds the demo prints each phase's current against its fuse and what
each EVSE may draw and why; the dashboard's URL (with a token made for this run) is printed
at the start. Ctrl-C stops everything cleanly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import secrets
import signal
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr

from localctl.config.api import ApiConfig
from localctl.config.loader import load_config
from localctl.config.model import LocalctlConfig
from localctl.service import Controller
from localctl.sim import StubCsms
from localctl.sim.arrivals import random_arrivals
from localctl.sim.display import phase_lines
from localctl.sim.ocpp_glue import utc_now
from localctl.sim.site import SimSite, SiteSettings
from localctl.sim.site_meters import sdm630_meter_ports

log = logging.getLogger("localctl.demo")

DEMO_CONFIG = Path(__file__).resolve().parent.parent / "site-configs" / "demo.yaml"
_DISPLAY_INTERVAL_S = 2.0


@dataclass
class RunningDemo:
    controller: Controller
    site: SimSite
    dashboard_url: str
    """with the API token in its fragment (never sent to the server, never logged)"""


@contextlib.asynccontextmanager
async def demo_site(
    seed: int = 1, config_path: Path = DEMO_CONFIG, api_listen: str = "127.0.0.1:0"
) -> AsyncIterator[RunningDemo]:
    """The simulated site with the real controller and its dashboard, running until exit."""
    rng = random.Random(seed)
    token = secrets.token_urlsafe(18)
    # Each demo is a new simulated site: its outbox and control state file (beside the outbox)
    # live in a directory of its own, so nothing of one run is restored into the next.
    with tempfile.TemporaryDirectory(prefix="localctl-demo-") as state_dir:
        config = _state_in(load_config(config_path), Path(state_dir))
        async with StubCsms() as csms:
            site = _site(config, rng)
            stop = asyncio.Event()
            try:
                meter_ports = await site.start_meters()
                controller = Controller(_local(config, csms.url, meter_ports, api_listen, token))
                running = asyncio.create_task(controller.run(stop))
                await controller.started.wait()
                assert controller.api is not None
                await site.connect(f"ws://127.0.0.1:{controller.relay.port}/ocpp")
                url = f"{controller.api.url}/dashboard/#token={token}"
                async with asyncio.TaskGroup() as tasks:
                    simulation = tasks.create_task(site.run())
                    try:
                        yield RunningDemo(controller, site, url)
                    finally:
                        simulation.cancel()
                        stop.set()
                await running
            finally:
                await site.aclose()


async def run_demo(
    duration_s: float | None = None, seed: int = 1, config_path: Path = DEMO_CONFIG
) -> int:
    _quiet_logs()
    stop = _stop_event(duration_s)
    async with demo_site(seed, config_path) as demo:
        relay = f"ws://127.0.0.1:{demo.controller.relay.port}/ocpp"
        print(f"controller listening on {relay}/<station-id>; Ctrl-C stops")
        print(f"dashboard: {demo.dashboard_url}", flush=True)
        display = asyncio.create_task(_display(demo.site, demo.controller))
        await stop.wait()
        display.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await display
    print("demo stopped")
    return 0


def _site(config: LocalctlConfig, rng: random.Random) -> SimSite:
    assert config.site is not None
    evse_ids = [e.id for e in config.site.evses]
    # Cars arrive within the first minute (mean idle 20 s) and stay 10 to 30 minutes.
    arrivals = random_arrivals(rng, evse_ids, horizon_s=3600, mean_idle_s=20, stay_s=(600, 1800))
    meter_ports = dict.fromkeys(sdm630_meter_ports(config), 0)
    settings = SiteSettings(meter_ports=meter_ports, wall_clock=utc_now)
    return SimSite(config, "ws://unused", rng=rng, arrivals=arrivals, settings=settings)


def _state_in(config: LocalctlConfig, state_dir: Path) -> LocalctlConfig:
    outbox = state_dir / "localctl-outbox.sqlite3"
    offline = config.relay.offline.model_copy(update={"outbox_path": outbox})
    return config.model_copy(update={"relay": config.relay.model_copy(update={"offline": offline})})


def _local(
    config: LocalctlConfig, csms_url: str, meter_ports: dict[str, int], api_listen: str, token: str
) -> LocalctlConfig:
    """The demo's configuration with loopback ports chosen now: any free port for stations,
    the stub CSMS upstream, the simulated meters where they came up, and the dashboard."""
    relay = config.relay.model_copy(update={"listen": "127.0.0.1:0", "upstream_url": csms_url})
    meters = tuple(
        meter.model_copy(update={"port": meter_ports.get(meter.node_id, meter.port)})
        for meter in config.inputs.modbus_meters
    )
    inputs = config.inputs.model_copy(update={"modbus_meters": meters})
    api = ApiConfig(listen=api_listen, token=SecretStr(token), history_interval_s=2.0)
    return config.model_copy(update={"relay": relay, "inputs": inputs, "api": api})


async def _display(site: SimSite, controller: Controller) -> None:
    started_s = time.monotonic()
    while True:
        await asyncio.sleep(_DISPLAY_INTERVAL_S)
        lines = [f"--- {time.monotonic() - started_s:5.0f} s " + "-" * 60, *phase_lines(site)]
        lines += _evse_lines(site, controller)
        print("\n".join(lines), flush=True)


def _evse_lines(site: SimSite, controller: Controller) -> list[str]:
    report = controller.loop.last if controller.loop is not None else None
    if report is None:
        return ["  (waiting for the first control cycle)"]
    lines = []
    for evse_id, wanted in sorted(report.wanted.evses.items()):
        state = site.model.evses.get(evse_id)
        drawn = "/".join(f"{a:4.1f}" for a in state.drawn_a) if state else "-"
        soc = f" SoC {state.ev.soc * 100:3.0f} %" if state and state.ev else ""
        why = report.wanted.why.get(evse_id, "")
        lines.append(
            f"  evse {evse_id:<3} limit {wanted.limit_a:5.1f} A  drawn {drawn} A{soc}  ({why})"
        )
    return lines


def _stop_event(duration_s: float | None) -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    if duration_s is not None:
        loop.call_later(duration_s, stop.set)
    return stop


def _quiet_logs() -> None:
    """Warnings and the controller's own story only; the picture is printed by the demo."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    for name in ("ocpp", "websockets", "pymodbus"):
        logging.getLogger(name).setLevel(logging.ERROR)
    with contextlib.suppress(Exception):
        logging.getLogger("localctl.control").setLevel(logging.WARNING)
