"""The simulated side of the latency benchmark, run as its own process (see control_latency).

    python -m benchmarks.control_latency_site --evses 50 --steps 40 --out result.json

It starts a stub CSMS and the site's SDM630 meter and prints one JSON line with their
addresses; it then reads the controller's station-side URL from stdin, connects the
stations, and steps the site at wall speed: a warm-up, then every `STEP_EVERY_S` the base
load goes up by `STEP_FRACTION` of the fuse on all three phases and down again
`STEP_HOLD_S` later. It writes what it saw to `--out`, stamped with `time.monotonic()`
(CLOCK_MONOTONIC, shared by every process on the machine): each step's moment and the L1
threshold a reading must pass to carry it, and when each SetChargingProfile reached its
station.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.control_site import site_config, with_delays
from localctl.sim import StubCsms
from localctl.sim.arrivals import Arrival
from localctl.sim.ev import EV_SPECS
from localctl.sim.ocpp_glue import utc_now
from localctl.sim.site import SimSite, SiteSettings
from localctl.sim.site_stations import StationPlan

FUSE_A_PER_EVSE = 8.0
STEP_FRACTION = 0.15
STEP_EVERY_S = 6.0
STEP_HOLD_S = 3.0
SITE_STEP_S = 0.5
BASE_A = 10.0
WARMUP_S = 30.0
# The cars arrive one after another over the first sampling interval (stations sample from
# each transaction's start), so meter values come in all the time, as on a real site, rather
# than 500 in one site step: one process answers for every station here, and a reaction that
# met such a burst waited behind it (p99 520 ms at 500 EVSEs against 393 ms for the rest).
ARRIVALS_OVER_S = 10.0
# Nothing here reads the stations' and the CSMS's logs of received CALLs; keep them short.
LOGGED_CALLS = 8


def payload_key(payload: object) -> str:
    """The same text for a payload on both sides of the socket."""
    return json.dumps(payload, sort_keys=True)


@dataclass
class Arrivals:
    """When each SetChargingProfile reached its station (first time only)."""

    at_s: dict[str, float] = field(default_factory=dict)

    def on_frame(self, identity: str, direction: str, text: str) -> None:
        del identity
        if direction != "in" or '"SetChargingProfile"' not in text:
            return
        frame = json.loads(text)
        if frame[0] == 2 and frame[2] == "SetChargingProfile":
            self.at_s.setdefault(payload_key(frame[3]), time.monotonic())


async def run(evse_count: int, steps: int, seed: int, out: Path) -> None:
    rng = random.Random(seed)
    fuse_a = FUSE_A_PER_EVSE * evse_count
    step_a = STEP_FRACTION * fuse_a
    levels = [BASE_A, BASE_A, BASE_A]

    def base(_: float) -> tuple[float, float, float]:
        return (levels[0], levels[1], levels[2])

    config = site_config(evse_count, fuse_a=fuse_a, meter_port=0, csms_url="ws://127.0.0.1:9")
    assert config.site is not None
    specs = list(EV_SPECS)
    arrivals = with_delays(
        [
            Arrival(
                ARRIVALS_OVER_S * i / evse_count,
                e.id,
                specs[i % len(specs)],
                stay_s=86400.0,
                soc=0.2,
                id_token=f"{i:08X}",
            )
            for i, e in enumerate(config.site.evses)
        ],
        rng,
    )
    seen = Arrivals()
    site = SimSite(
        config,
        "ws://unused",
        rng=rng,
        arrivals=arrivals,
        base_loads={"main": base},
        plan=StationPlan(on_frame=seen.on_frame, logged_calls=LOGGED_CALLS),
        settings=SiteSettings(step_s=SITE_STEP_S, meter_ports={"main": 0}, wall_clock=utc_now),
    )
    step_log: list[tuple[float, float]] = []
    async with StubCsms(logged_calls=LOGGED_CALLS) as csms:
        try:
            ports = await site.start_meters()
            print(json.dumps({"meter_port": ports["main"], "csms_url": csms.url}), flush=True)
            url = (await asyncio.to_thread(sys.stdin.readline)).strip()
            await site.connect(url)
            # Everything built so far (stations, handlers, schemas, code) lives as long as the
            # process: out of the collector's sight, a full collection scans only what came
            # after. Without this, a collection of the 500-EVSE site stalled it 110 to 135 ms
            # every 20 s, and a step landing on one waited for it.
            gc.freeze()
            loop = asyncio.get_running_loop()
            plan = [(WARMUP_S + k * STEP_EVERY_S, +step_a) for k in range(steps)]
            plan += [(WARMUP_S + k * STEP_EVERY_S + STEP_HOLD_S, -step_a) for k in range(steps)]
            plan.sort()
            end_s = WARMUP_S + steps * STEP_EVERY_S + 2.0
            start = next_at = loop.time()
            while (now := loop.time() - start) < end_s:
                up = False
                while plan and plan[0][0] <= now:
                    _, delta = plan.pop(0)
                    levels[:] = [level + delta for level in levels]
                    up = up or delta > 0
                await site.step()
                if up:  # the meter serves the step from now on
                    step_log.append((time.monotonic(), site.grid_current_a[0] - step_a / 2))
                next_at += SITE_STEP_S
                await asyncio.sleep(max(0.0, next_at - loop.time()))
            failures = [f.error for f in site.call_failures]
        finally:
            await site.aclose()
    result = {
        "stations": len(site.stations),
        "steps": step_log,
        "arrived_s": seen.at_s,
        "call_failures": failures,
    }
    await asyncio.to_thread(out.write_text, json.dumps(result))
    print(json.dumps({"done": True}), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--evses", type=int, required=True)
    parser.add_argument("--steps", type=int, required=True)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    asyncio.run(run(args.evses, args.steps, args.seed, args.out))


if __name__ == "__main__":
    main()
