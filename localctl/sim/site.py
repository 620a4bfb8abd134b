"""`SimSite`: a whole simulated site on real sockets, stepped on a simulated clock.

Every step (`step_s` of simulated time):
1. sessions that end leave (StopTransaction / TransactionEvent Ended, then unplug) and new
   arrivals plug in, authorize and start a transaction;
2. each station offers its charging ports what its profiles allow (station caps shared);
3. the EVs follow their offers (after their reaction delays), and the currents per node and
   grid phase are computed, fed to the overload tracker and served by the site meters;
4. stations whose sampling interval has passed report MeterValues for their charging ports,
   and those whose heartbeat interval has passed send a Heartbeat.
OCPP calls of one station go out in order; different stations' calls run concurrently, and
the step waits for all of them. `run()` paces steps at `step_s / speedup` of real time.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Mapping, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Self

from localctl.config.model import LocalctlConfig
from localctl.config.site import SiteConfig
from localctl.sim.arrivals import Arrival, random_arrivals
from localctl.sim.base_load import BaseLoad, PhaseCurrents, daily_base_load
from localctl.sim.clock import SimClock
from localctl.sim.errors import SimError
from localctl.sim.ev import Ev
from localctl.sim.meter_server import SiteMeterServer
from localctl.sim.ocpp_glue import utc_now
from localctl.sim.overload import OverloadTracker
from localctl.sim.site_calls import Action, CallFailure, StationCalls, bind
from localctl.sim.site_meters import SiteMeters
from localctl.sim.site_model import SiteModel
from localctl.sim.site_stations import (
    SiteStation,
    StationPlan,
    build_site_stations,
    heartbeat_interval_s,
)
from localctl.sim.site_stations import sample_interval_s as station_sample_interval_s


@dataclass(frozen=True)
class SiteSettings:
    step_s: float = 1.0
    wall_clock: Callable[[], datetime] | None = None
    """If set, every step advances simulated time to this clock's time instead of by
    `step_s` (run at speed-up 1): stations then judge a real controller's leases and
    schedule starts on the controller's time even when steps lag."""
    meter_ports: Mapping[str, int] | None = None
    """node id -> port of a simulated SDM630 on 127.0.0.1 (0: any free port); None: the
    grid connection on any free port; empty: no meter. See `sdm630_meter_ports`."""
    overload_tolerance_a: float = 0.0
    random_horizon_s: float = 24 * 3600.0
    """How far ahead random arrivals are drawn when no scripted list is given."""
    reconnect_after_s: float | None = 10.0
    """A station whose connection dropped tries again after this much simulated time."""


@dataclass
class Session:
    arrival: Arrival
    station_id: str
    port: int
    order: int
    charging: bool = False
    """True once the transaction has started: the station offers current from then on."""
    sampled_s: float = 0.0
    """When the transaction started, then when its last meter values were due."""


def default_base_loads(
    config: LocalctlConfig, site: SiteConfig, start_of_day_s: float = 0.0
) -> dict[str, BaseLoad]:
    """A daily curve on every node with a configured meter, else on the grid connection;
    `start_of_day_s` is the time of day when the simulation starts."""
    metered = {meter.node_id for meter in config.inputs.modbus_meters}
    metered |= {meter.node_id for meter in config.inputs.mqtt_meters}
    root = next(node.id for node in site.nodes if node.parent is None)
    return {
        node_id: daily_base_load(start_of_day_s=start_of_day_s)
        for node_id in sorted(metered or {root})
    }


class SimSite:
    """The stations, EVs, base loads and site meter of `config`, talking OCPP to `url`.

    `rng` draws random arrivals (when `arrivals` is None) and EV reaction delays;
    `base_loads` maps node ids to curves (default: `default_base_loads`). The default clock
    starts at the current wall time, so the leases a real controller computes on its own
    clock run out when they should; pass a `SimClock` for a reproducible run.
    """

    def __init__(
        self,
        config: LocalctlConfig,
        url: str,
        *,
        rng: random.Random,
        clock: SimClock | None = None,
        arrivals: Sequence[Arrival] | None = None,
        base_loads: Mapping[str, BaseLoad] | None = None,
        plan: StationPlan | None = None,
        settings: SiteSettings = SiteSettings(),
    ) -> None:
        if config.site is None:
            raise SimError("a simulated site needs the site section")
        self.config = config
        self.clock = clock or SimClock((settings.wall_clock or utc_now)())
        self.settings = settings
        self._rng = rng
        loads = base_loads
        if loads is None:
            loads = default_base_loads(config, config.site, self.clock.seconds_of_day)
        self.model = SiteModel(config.site, loads)
        self.overload = OverloadTracker.for_site(
            config.site, tolerance_a=settings.overload_tolerance_a
        )
        self.stations = build_site_stations(config, url, self.clock.now, plan or StationPlan())
        self.port_of = {
            evse_id: (station.id, port)
            for station in config.stations
            for port, evse_id in station.evses.items()
        }
        evse_ids = [evse_id for evse_id in self.model.evses if evse_id in self.port_of]
        if arrivals is None:
            arrivals = random_arrivals(rng, evse_ids, horizon_s=settings.random_horizon_s)
        self._arrivals = sorted(arrivals, key=lambda a: a.at_s)
        self.sessions: dict[str, Session] = {}
        self._sessions_started = 0
        self._last_heartbeat_s: dict[str, float] = {}
        ports_by_station = {station.id: sorted(station.evses) for station in config.stations}
        self.calls = StationCalls(
            self.stations, ports_by_station, self.clock, settings.reconnect_after_s
        )
        self.node_currents_a: dict[str, PhaseCurrents] = self.model.node_currents_a(0.0)
        ports = settings.meter_ports
        self.meters = SiteMeters({self.model.root_id: 0} if ports is None else ports)
        self._exit_stack = AsyncExitStack()
        self._meters_started = False

    # -- lifecycle ----------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        """Start the meters, then connect and boot every station (`start_meters`, `connect`)."""
        try:
            await self.start_meters()
            await self.connect()
        except BaseException:
            await self.aclose()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def start_meters(self) -> dict[str, int]:
        """Start the site meters (once) and return their ports by node: a controller's
        configuration can name them before the stations connect to it."""
        if not self._meters_started:
            await self._exit_stack.enter_async_context(self.meters)
            self._meters_started = True
            self.meters.update(self.node_currents_a, 0.0)
        return {node_id: server.port for node_id, server in self.meters.servers.items()}

    async def connect(self, url: str | None = None) -> None:
        """Connect every station (to `url` if given), boot it and report its ports' status."""
        for station in self.stations.values():
            if url is not None:
                station.url = url
            await self._exit_stack.enter_async_context(station)
        await self.calls.run({sid: self.calls.boot_actions(sid) for sid in self.stations})

    async def aclose(self) -> None:
        """Close the stations and stop the meters."""
        await self._exit_stack.aclose()
        self._meters_started = False

    # -- running ------------------------------------------------------------------------

    async def run(self, duration_s: float | None = None, *, speedup: float = 1.0) -> None:
        """Step until `duration_s` of simulated time has passed (None: until cancelled)."""
        loop = asyncio.get_running_loop()
        end_s = None if duration_s is None else self.clock.now_s + duration_s
        next_at = loop.time()
        while end_s is None or self.clock.now_s < end_s - 1e-9:
            await self.step()
            # Paced on a schedule, not after each step, so slow steps do not add drift.
            next_at += self.settings.step_s / speedup
            await asyncio.sleep(max(0.0, next_at - loop.time()))

    def _step_length_s(self) -> float:
        wall = self.settings.wall_clock
        if wall is None:
            return self.settings.step_s
        return max(0.0, (wall() - self.clock.now()).total_seconds())

    async def step(self) -> None:
        """Advance the site by one step of simulated time."""
        step_s = self._step_length_s()
        self.clock.advance(step_s)
        await self.calls.run(self.calls.reconnections(self.clock.now_s))
        await self.calls.run(self._session_changes(self.clock.now_s))
        self.model.step(self.offers_a(), step_s)
        self.node_currents_a = self.model.node_currents_a(self.clock.now_s)
        self.overload.observe(self.node_currents_a, step_s)
        self.meters.update(self.node_currents_a, step_s)
        await self.calls.run(self._meter_reports(self.clock.now_s))
        await self.calls.run(self._heartbeats(self.clock.now_s))

    # -- what the site shows ------------------------------------------------------------

    @property
    def energy_wh(self) -> dict[str, float]:
        """Energy delivered by each EVSE since the simulation began (for fairness reports)."""
        return {evse_id: state.energy_wh for evse_id, state in self.model.evses.items()}

    @property
    def call_failures(self) -> list[CallFailure]:
        """Every OCPP call that failed (the site carried on), oldest first."""
        return self.calls.failures

    @property
    def meter(self) -> SiteMeterServer | None:
        """The simulated meter on the grid connection, if there is one."""
        return self.meters.servers.get(self.model.root_id)

    @property
    def grid_current_a(self) -> PhaseCurrents:
        return self.node_currents_a[self.model.root_id]

    def offers_a(self) -> dict[str, float]:
        """Offer per EVSE with a charging session, as each station decides it now."""
        offers: dict[str, float] = {}
        for station_id, station in self.stations.items():
            charging = sorted(
                (s for s in self.sessions.values() if s.station_id == station_id and s.charging),
                key=lambda s: s.order,
            )
            by_port = station.offers_a([s.port for s in charging])
            offers.update({s.arrival.evse_id: by_port[s.port] for s in charging})
        return offers

    # -- sessions -----------------------------------------------------------------------

    def _session_changes(self, now_s: float) -> dict[str, list[Action]]:
        actions: dict[str, list[Action]] = {}
        for evse_id, session in list(self.sessions.items()):
            if session.arrival.leaves_s <= now_s:
                actions.setdefault(session.station_id, []).extend(self._leave(evse_id))
        while self._arrivals and self._arrivals[0].at_s <= now_s:
            arrival = self._arrivals.pop(0)
            if arrival.leaves_s <= now_s or arrival.evse_id not in self.port_of:
                continue  # already gone, or an EVSE no station serves
            station_id = self.port_of[arrival.evse_id][0]
            actions.setdefault(station_id, []).extend(self._arrive(arrival))
        return actions

    def _arrive(self, arrival: Arrival) -> list[Action]:
        if arrival.evse_id in self.sessions:
            raise SimError(f"{arrival.evse_id} is occupied at {arrival.at_s} s")
        station_id, port = self.port_of[arrival.evse_id]
        station = self.stations[station_id]
        ev = Ev(
            arrival.ev, soc=arrival.soc, reaction_delay_s=arrival.reaction_delay_s, rng=self._rng
        )
        self.model.plug(arrival.evse_id, ev)
        self._sessions_started += 1
        session = Session(arrival, station_id, port, self._sessions_started)
        self.sessions[arrival.evse_id] = session

        async def start() -> None:
            try:
                await station.start_charging(port, arrival.id_token)
            finally:
                # Stations authorize locally and charge when the controller is unreachable.
                session.charging = True
                session.sampled_s = self.clock.now_s

        token = arrival.id_token
        return [bind(station.plug_in, port), bind(station.authorize, token), start]

    def _leave(self, evse_id: str) -> list[Action]:
        session = self.sessions.pop(evse_id)
        self.model.unplug(evse_id)
        station = self.stations[session.station_id]
        energy_wh = self.model.evses[evse_id].energy_wh
        stop = bind(station.stop_charging, session.port, energy_wh)
        return [stop, bind(station.unplug, session.port)] if session.charging else []

    # -- meter values -------------------------------------------------------------------

    def _meter_reports(self, now_s: float) -> dict[str, list[Action]]:
        """Each transaction's meter values, every sampling interval from its start (OCPP 1.6
        MeterValueSampleInterval, 2.0.1 E02.FR.10 TxUpdatedInterval): transactions that
        started at different times report at different times, as on a real site."""
        actions: dict[str, list[Action]] = {}
        intervals_s = {i: station_sample_interval_s(s) for i, s in self.stations.items()}
        for session in self.sessions.values():
            interval_s = intervals_s[session.station_id]
            if not session.charging or interval_s <= 0:
                continue
            due_s = session.sampled_s + interval_s
            if now_s < due_s - 1e-9:
                continue
            # Keep the phase of the transaction's start, unless far behind (interval shortened).
            session.sampled_s = due_s if now_s - due_s < interval_s else now_s
            station = self.stations[session.station_id]
            actions.setdefault(session.station_id, []).append(self._meter_report(station, session))
        return actions

    def _heartbeats(self, now_s: float) -> dict[str, list[Action]]:
        actions: dict[str, list[Action]] = {}
        for station_id, station in self.stations.items():
            interval_s = heartbeat_interval_s(station)
            last_s = self._last_heartbeat_s.setdefault(station_id, 0.0)
            if interval_s > 0 and now_s - last_s >= interval_s - 1e-9:
                self._last_heartbeat_s[station_id] = now_s
                actions[station_id] = [station.heartbeat]
        return actions

    def _meter_report(self, station: SiteStation, session: Session) -> Action:
        state = self.model.evses[session.arrival.evse_id]
        soc_percent = None if state.ev is None else state.ev.soc * 100.0
        drawn_a, energy_wh = state.drawn_a, state.energy_wh

        async def report() -> None:
            await station.meter_values(session.port, drawn_a, energy_wh, soc_percent=soc_percent)

        return report
