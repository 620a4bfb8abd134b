"""One simulated hour of a 20-EVSE site on 3 x 63 A, time-accelerated, with base-load steps:
localctl closing the loop over OCPP, beside an equal-split baseline on the same sessions.

Acceleration: the controller gets the site's `SimClock` as its clocks
(`Clocks(monotonic=clock.monotonic, wall=clock.wall)`), so everything it judges by time
(ages, leases and their `validTo`, holds, compliance, call timeouts) runs on simulated time,
and the stations judge validity on the same clock. What the controller does in *real* time
is scaled by 1/speed-up: the control period (`period_s` = 1 s / speed-up, so one cycle per
simulated second) and the meter poll (0.5 s / speed-up). The site steps 1 s of simulated
time every 1/speed-up s of real time. The controller's own processing is not accelerated:
a reaction taking 50 ms real counts as 50 ms x speed-up simulated, a handicap.

The baseline is the usual fixed rule, implemented here in a few lines and given every
advantage: a perfect meter and no OCPP, so its offers reach the stations instantly. Every
simulated second it splits each phase's headroom (fuse minus the base load) equally among
the plugged-in EVs that are not full; an EV gets the smallest share over its phases, capped
at its EVSE's maximum; if that is under 6 A, the latest arrivals are paused until the
others get 6 A. Both runs see the same sessions, the same cars with the same reaction delays
(1 to 10 s) and the same base load.
"""

from __future__ import annotations

import asyncio
import random
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.control_site import NOMINAL_V, jain_index, running_site, site_config, with_delays
from localctl.clocks import Clocks
from localctl.config.model import LocalctlConfig
from localctl.config.site import GRID_PHASES, GridPhase, SiteConfig
from localctl.sim.arrivals import Arrival, random_arrivals
from localctl.sim.base_load import PhaseCurrents, daily_base_load, step_base_load
from localctl.sim.clock import SimClock
from localctl.sim.ev import IEC_MIN_OFFER_A, Ev
from localctl.sim.site import SimSite, SiteSettings
from localctl.sim.site_model import SiteModel
from localctl.sim.site_stations import StationPlan

EVSES = 20
FUSE_A = 63.0
STEP_S = 1.0
WINDOW_S = 15.0
"""The reaction window overload is judged against: the controller's own `reaction_window_s`
default, which covers the slowest EV (10 s), a control period and a meter poll."""
START = datetime(2026, 1, 5, 17, 0, tzinfo=UTC)
"""17:00, so the hour climbs towards the evening peak of the daily curve."""
STEPS: list[tuple[float, PhaseCurrents]] = [
    (0.0, (0.0, 0.0, 0.0)),
    (600.0, (15.0, 0.0, 0.0)),  # a heat pump on L1 for 15 min
    (1500.0, (0.0, 0.0, 0.0)),
    (1800.0, (20.0, 20.0, 20.0)),  # a three-phase load for 10 min
    (2400.0, (0.0, 0.0, 0.0)),
    (2700.0, (0.0, 25.0, 0.0)),  # a kettle-and-oven evening on L2 for 5 min
    (3000.0, (0.0, 0.0, 0.0)),
]


def base_load(duration_s: float) -> Callable[[float], PhaseCurrents]:
    del duration_s
    daily = daily_base_load(start_of_day_s=17 * 3600.0)
    steps = step_base_load(STEPS)

    def load(time_s: float) -> PhaseCurrents:
        d, s = daily(time_s), steps(time_s)
        return (d[0] + s[0], d[1] + s[1], d[2] + s[2])

    return load


@dataclass
class BeyondWindow:
    """A·s above each phase's fuse counted only once a continuous overload outlasts the
    window (what the controller is accountable for), plus the totals."""

    window_s: float
    run_s: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])
    beyond_as: float = 0.0
    total_as: float = 0.0
    seconds_over_s: float = 0.0
    peak_excess_a: float = 0.0
    longest_run_s: float = 0.0

    def observe(self, currents_a: PhaseCurrents, fuse_a: float, dt_s: float) -> None:
        for i, current_a in enumerate(currents_a):
            excess_a = current_a - fuse_a
            if excess_a <= 0:
                self.run_s[i] = 0.0
                continue
            self.run_s[i] += dt_s
            self.total_as += excess_a * dt_s
            self.seconds_over_s += dt_s
            self.peak_excess_a = max(self.peak_excess_a, excess_a)
            self.longest_run_s = max(self.longest_run_s, self.run_s[i])
            if self.run_s[i] > self.window_s:
                self.beyond_as += excess_a * dt_s


@dataclass
class Sessions:
    """Energy and plugged-in time of every session, as last seen."""

    energy_wh: dict[tuple[str, float], float] = field(default_factory=dict)
    plugged_s: dict[tuple[str, float], float] = field(default_factory=dict)
    phases: dict[tuple[str, float], int] = field(default_factory=dict)

    def see(self, arrival: Arrival, ev: Ev, now_s: float, phases: int) -> None:
        key = (arrival.evse_id, arrival.at_s)
        self.energy_wh[key] = ev.energy_wh
        self.plugged_s[key] = min(now_s, arrival.leaves_s) - arrival.at_s
        self.phases[key] = phases

    def figures(self) -> dict[str, float]:
        keys = [k for k, s in self.plugged_s.items() if s > 0]
        energy = [self.energy_wh[k] for k in keys]
        average_a = [
            self.energy_wh[k] * 3600.0 / (NOMINAL_V * self.phases[k] * self.plugged_s[k])
            for k in keys
        ]
        return {
            "sessions": len(keys),
            "energy_kwh": round(sum(energy) / 1000.0, 2),
            "jain_energy": round(jain_index(energy), 3),
            "jain_average_current": round(jain_index(average_a), 3),
        }


@dataclass(frozen=True, slots=True)
class HourResult:
    label: str
    simulated_s: float
    real_s: float
    overload: BeyondWindow
    sessions: dict[str, float]

    def summary(self) -> dict[str, float | str]:
        o = self.overload
        return {
            "controller": self.label,
            "simulated_s": self.simulated_s,
            "real_s": round(self.real_s, 1),
            "speedup_achieved": round(self.simulated_s / self.real_s, 1) if self.real_s else 0.0,
            "overload_beyond_window_as": round(o.beyond_as, 1),
            "overload_total_as": round(o.total_as, 1),
            "seconds_over_fuse_s": round(o.seconds_over_s, 1),
            "longest_overload_s": round(o.longest_run_s, 1),
            "peak_excess_a": round(o.peak_excess_a, 1),
            **self.sessions,
        }


def sessions_for(config: LocalctlConfig, duration_s: float, seed: int) -> list[Arrival]:
    assert config.site is not None
    rng = random.Random(seed)
    evse_ids = [e.id for e in config.site.evses]
    arrivals = random_arrivals(
        rng, evse_ids, horizon_s=duration_s, mean_idle_s=600.0, stay_s=(900.0, 3600.0)
    )
    return with_delays(arrivals, rng)


def _phases_of(site: SiteConfig, evse_id: str, ev: Ev) -> tuple[GridPhase, ...]:
    evse = next(e for e in site.evses if e.id == evse_id)
    return tuple(evse.grid_phases[: min(ev.spec.phases, evse.phases)])


async def run_localctl(duration_s: float, speedup: float, seed: int) -> HourResult:
    clock = SimClock(START)
    probe = site_config(EVSES, fuse_a=FUSE_A, meter_port=0, csms_url="ws://127.0.0.1:9")
    arrivals = sessions_for(probe, duration_s, seed)
    work = Path(tempfile.mkdtemp(prefix="control-hour-"))

    def config_for(port: int, csms_url: str) -> LocalctlConfig:
        return site_config(
            EVSES,
            fuse_a=FUSE_A,
            meter_port=port,
            csms_url=csms_url,
            control={"period_s": STEP_S / speedup},
            meter={"poll_interval_s": 0.5 / speedup},
            state_dir=work,
        )

    site = SimSite(
        probe,
        "ws://unused",
        rng=random.Random(seed),
        clock=clock,
        arrivals=arrivals,
        base_loads={"main": base_load(duration_s)},
        plan=StationPlan(sample_interval_s=10),
        settings=SiteSettings(step_s=STEP_S, meter_ports={"main": 0}),
    )
    overload = BeyondWindow(WINDOW_S)
    sessions = Sessions()
    clocks = Clocks(monotonic=clock.monotonic, wall=clock.wall)
    async with running_site(site, config_for, clocks):
        loop = asyncio.get_running_loop()
        started = time.monotonic()
        next_at = loop.time()
        while clock.now_s < duration_s - 1e-9:
            await site.step()
            overload.observe(site.grid_current_a, FUSE_A, STEP_S)
            for evse_id, session in site.sessions.items():
                ev = site.model.evses[evse_id].ev
                if ev is not None:
                    phases = len(_phases_of(site.model.site, evse_id, ev))
                    sessions.see(session.arrival, ev, clock.now_s, phases)
            next_at += STEP_S / speedup
            await asyncio.sleep(max(0.0, next_at - loop.time()))
        real_s = time.monotonic() - started
    shutil.rmtree(work)
    return HourResult("localctl", duration_s, real_s, overload, sessions.figures())


def equal_split_offers(
    site: SiteConfig, plugged: list[tuple[str, Ev, float]], base_a: PhaseCurrents
) -> dict[str, float]:
    """`plugged`: (EVSE, EV, arrival time) of the plugged-in EVs; the offer per EVSE."""
    headroom = {p: FUSE_A - b for p, b in zip(GRID_PHASES, base_a, strict=True)}
    maxima = {e.id: e.max_current_a for e in site.evses}
    active = sorted((p for p in plugged if not p[1].full), key=lambda p: p[2])
    while active:
        count = {p: 0 for p in GRID_PHASES}
        for evse_id, ev, _ in active:
            for phase in _phases_of(site, evse_id, ev):
                count[phase] += 1
        offers = {
            evse_id: min(
                maxima[evse_id],
                *(max(0.0, headroom[p]) / count[p] for p in _phases_of(site, evse_id, ev)),
            )
            for evse_id, ev, _ in active
        }
        if min(offers.values()) >= IEC_MIN_OFFER_A:
            return offers
        active.pop()  # the latest arrival waits
    return {}


def run_equal_split(duration_s: float, seed: int) -> HourResult:
    probe = site_config(EVSES, fuse_a=FUSE_A, meter_port=0, csms_url="ws://127.0.0.1:9")
    assert probe.site is not None
    arrivals = sorted(sessions_for(probe, duration_s, seed), key=lambda a: a.at_s)
    load = base_load(duration_s)
    model = SiteModel(probe.site, {"main": load})
    overload = BeyondWindow(WINDOW_S)
    sessions = Sessions()
    plugged: dict[str, Arrival] = {}
    started = time.monotonic()
    now_s = 0.0
    offers: dict[str, float] = {}
    while now_s < duration_s - 1e-9:
        now_s += STEP_S
        for evse_id, arrival in list(plugged.items()):
            if arrival.leaves_s <= now_s:
                model.unplug(evse_id)
                del plugged[evse_id]
        while arrivals and arrivals[0].at_s <= now_s:
            arrival = arrivals.pop(0)
            if arrival.leaves_s <= now_s or arrival.evse_id in plugged:
                continue
            delay_s = arrival.reaction_delay_s
            model.plug(arrival.evse_id, Ev(arrival.ev, soc=arrival.soc, reaction_delay_s=delay_s))
            plugged[arrival.evse_id] = arrival
        model.step(offers, STEP_S)
        grid_a = model.node_currents_a(now_s)[model.root_id]
        overload.observe(grid_a, FUSE_A, STEP_S)
        on_site = [(e, model.evses[e].ev, a.at_s) for e, a in plugged.items()]
        evs = [(e, ev, t) for e, ev, t in on_site if ev is not None]
        for evse_id, ev, _ in evs:
            phases = len(_phases_of(probe.site, evse_id, ev))
            sessions.see(plugged[evse_id], ev, now_s, phases)
        offers = equal_split_offers(probe.site, evs, load(now_s))
    real_s = time.monotonic() - started
    return HourResult("equal split", duration_s, real_s, overload, sessions.figures())
