"""What both control benchmarks share: the site configuration, the controller started against
a simulated site (meter first, then the controller, then the stations), and fairness figures."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from benchmarks.machine import machine as base_machine
from localctl.clocks import Clocks
from localctl.config.model import LocalctlConfig
from localctl.service import Controller
from localctl.sim import StubCsms
from localctl.sim.arrivals import Arrival
from localctl.sim.site import SimSite
from localctl.sim.synthetic import synthetic_config

NOMINAL_V = 230.0


def site_config(
    evse_count: int,
    *,
    fuse_a: float,
    meter_port: int,
    csms_url: str,
    control: dict[str, Any] | None = None,
    meter: dict[str, Any] | None = None,
    state_dir: Path | None = None,
) -> LocalctlConfig:
    """`synthetic_config` (rotated wiring, every 4th EVSE single-phase, two per station) with
    the CSMS, the meter and the control settings given; WebSocket pings off. A controller run
    on it keeps its outbox and control state in `state_dir` (give each run a fresh one: a
    state file left by an earlier run would be restored)."""
    document: dict[str, Any] = synthetic_config(
        evse_count, fuse_a=fuse_a, single_phase_every=4, meter_port=meter_port
    ).model_dump(mode="json", exclude_none=True)
    document["relay"].update(upstream_url=csms_url, ping_interval_s=None)
    document["inputs"]["modbus_meters"][0].update(meter or {})
    document["control"] = control or {}
    if state_dir is not None:
        outbox_path = str(state_dir / "outbox.sqlite3")
        document["relay"].setdefault("offline", {})["outbox_path"] = outbox_path
    return LocalctlConfig.model_validate(document)


@dataclass
class Running:
    site: SimSite
    controller: Controller


@contextlib.asynccontextmanager
async def running_site(
    site: SimSite, config_for: Callable[[int, str], LocalctlConfig], clocks: Clocks | None = None
) -> AsyncIterator[Running]:
    """Start the site's meter, a stub CSMS, the controller reading the meter, then connect
    the stations; stop everything on the way out."""
    async with contextlib.AsyncExitStack() as stack:
        stack.push_async_callback(site.aclose)
        csms = await stack.enter_async_context(StubCsms())
        ports = await site.start_meters()
        controller = Controller(config_for(ports["main"], csms.url), clocks)
        stop = asyncio.Event()
        task = asyncio.create_task(controller.run(stop))
        try:
            await asyncio.wait_for(controller.started.wait(), 30)
            await site.connect(f"ws://127.0.0.1:{controller.relay.port}/ocpp")
            yield Running(site, controller)
        finally:
            stop.set()
            await asyncio.wait_for(task, 60)


def with_delays(arrivals: Sequence[Arrival], rng: random.Random) -> list[Arrival]:
    """The same sessions with each EV's reaction delay drawn now (1 to 10 s), so the
    controller's run and the baseline's see the very same cars."""
    return [replace(a, reaction_delay_s=rng.uniform(1.0, 10.0)) for a in arrivals]


def jain_index(values: Sequence[float]) -> float:
    """Jain's fairness index: 1 when all equal, 1/n when one takes everything."""
    if not values or not any(values):
        return float("nan")
    return sum(values) ** 2 / (len(values) * sum(v * v for v in values))


def machine() -> dict[str, str]:
    return {
        **base_machine(),
        "loadavg_at_start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }
