"""The control loop: every period, and at once when a station event calls for it.

Each cycle: inputs snapshot -> optimizer input (fail-safe modes) -> allocation -> wanted
limits (floors, CSMS composition) -> changes (decreases first) -> SetChargingProfile through
each station's sending queue. Increases go out only once every decrease of the cycle has been
answered, or the cycle's decrease wait ran out, in which case they wait for the next cycle.
That wait runs beside the loop, not in it: a meter jump starts the next cycle at once, which
drops the previous cycle's increases (planned on old readings) and whose decreases replace
any older limit for the same EVSE still waiting in a station's queue.
A failed cycle is logged and the loop goes on: while it fails, leases run out and stations
fall back to their floors, which is the safe state.

Every limit a station accepts is journalled (`StateJournal`). After a restart, what each
station was last known to hold is `restore`d: such a limit is sent again on the new
connection (it may have been lost with it), but a change from it still counts as the decrease
or increase it is, so decreases go first from the first cycle on.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
import math
from collections import ChainMap
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from localctl.clocks import Clocks
from localctl.config.model import LocalctlConfig
from localctl.config.site import SiteConfig
from localctl.control.compliance import ComplianceTracker
from localctl.control.external_limits import (
    ExternalLimitChange,
    active_external_limits,
    external_limit_changes,
)
from localctl.control.identity import ControllerIdentity
from localctl.control.limits import (
    CycleInputs,
    WantedLimits,
    evse_key,
    floor_key,
    lease_key,
    wanted_limits,
)
from localctl.control.overrides import OperatorOverrides
from localctl.control.planner import InstalledLimit, LimitChange, plan_changes
from localctl.control.profile_builder import LimitTarget, build_profile
from localctl.control.registry import StationRegistry, StationRuntime
from localctl.control.state_records import InstallRecord, NoJournal, StateJournal
from localctl.control.strategy import STRATEGIES, ProfileStrategy
from localctl.io.relay_server import RelayServer
from localctl.io.station_link import OwnCallError
from localctl.model.composite import composite_limit_at
from localctl.relay.events import Side
from localctl.relay.frames import JsonObject
from localctl.relay.versions import OcppVersion
from localctl.site.state import SiteSnapshot, SiteState
from localctl.site.to_optimizer import (
    ControlInput,
    NonEvHold,
    build_control_input,
    grid_draw_a,
    static_site,
)
from optimizer import Allocation, AllocatorState, Options, Session, allocate
from optimizer.fallback import fallback_plan

log = logging.getLogger("localctl.control")

_DECREASE_WAIT_S = 10.0
# A rejected limit is tried again after 2 s, then 4, 8, ... up to 60 s: a station that
# refused because it had not yet registered its transaction gets it soon; one that refuses
# for good is not flooded.
_RETRY_FIRST_S = 2.0
_RETRY_MAX_S = 60.0

ExternalLimit = tuple[float | None, tuple[float, float, float] | None]


@dataclass(frozen=True, slots=True)
class CycleReport:
    """What the last cycle decided, for telemetry and 'why does this EVSE get what it gets'."""

    monotonic_s: float
    control_input: ControlInput
    allocation: Allocation
    wanted: WantedLimits


class ControlLoop:
    def __init__(
        self,
        config: LocalctlConfig,
        relay: RelayServer,
        site_state: SiteState,
        registry: StationRegistry,
        clocks: Clocks,
    ) -> None:
        assert config.site is not None, "the control loop needs a site"
        self._config = config
        self._site: SiteConfig = config.site
        self._relay = relay
        self._site_state = site_state
        self._registry = registry
        self._clocks = clocks
        control = config.control
        self._options = Options(
            max_increase_a_per_cycle=control.max_increase_a_per_cycle,
            period_s=control.period_s,
            rotation_interval_s=control.rotation_interval_s,
            unused_margin_a=control.unused_margin_a,
            probe_interval_s=control.probe_interval_s,
            fairness=control.fairness,
        )
        plan = fallback_plan(static_site(self._site), self._options)
        self.floors_a = {floor.evse_id: floor.floor_a for floor in plan.floors}
        self._allocator_state = AllocatorState()
        self._non_ev_hold = NonEvHold(control.non_ev_hold_s)
        self._installed: dict[str, InstalledLimit] = {}
        # Station id -> limit key -> what the station held when the last process stopped.
        self._restored: dict[str, dict[str, InstallRecord]] = {}
        self.journal: StateJournal = NoJournal()
        """where accepted limits go, to be known after a restart (the state file, once open)"""
        self._installed_for: dict[str, tuple[float | None, str | None]] = {}
        self._in_flight: dict[str, asyncio.Task[None]] = {}
        self._increases: asyncio.Task[None] | None = None
        self._decreasing: set[asyncio.Task[None]] = set()
        self._retry_after_s: dict[str, float] = {}
        self._retry_delay_s: dict[str, float] = {}
        self._wake = asyncio.Event()
        self._external: dict[str, ExternalLimit] = {}
        self.identity: ControllerIdentity | None = None
        """set by the service when the controller has an identity of its own"""
        self.compliance = ComplianceTracker(
            control.compliance_tolerance_a, control.reaction_window_s
        )
        self._notifications: set[asyncio.Task[None]] = set()
        self.last: CycleReport | None = None
        self.overrides = OperatorOverrides()
        """what an operator changed by hand (API): node limits, session needs, pauses"""
        self.overrides.on_change = self.wake

    def wake(self) -> None:
        self._wake.set()

    def restore(self, station_id: str, installed: dict[str, InstallRecord]) -> None:
        """What the station held when the previous process stopped (from the state file)."""
        self._restored[station_id] = dict(installed)

    def believed_installed(self, station: StationRuntime) -> Mapping[str, InstalledLimit]:
        """What `station` holds: accepted on this connection, else restored and still valid.
        A restored limit carries an expired lease, so the planner sends it again."""
        restored = self._restored.get(station.config.id)
        if not restored:
            return self._installed
        believed: dict[str, InstalledLimit] = {}
        wall_s = self._clocks.wall()
        transactions = {evse_key(e.config.id): e.transaction_id for e in station.evses.values()}
        for key, record in restored.items():
            lapsed = record.lease_until_wall_s is not None and record.lease_until_wall_s <= wall_s
            # A TxProfile went with its transaction (K02.FR.05); a lapsed lease left the floor.
            ended = key in transactions and transactions[key] != record.transaction_id
            if key not in self._installed and not lapsed and not ended:
                believed[key] = InstalledLimit(record.limit_a, record.phases, -math.inf)
        return ChainMap(self._installed, believed)

    async def run(self) -> None:
        try:
            while True:
                try:
                    await self.cycle()
                except Exception:  # a bug in one cycle must not stop control; leases lapse safely
                    log.exception("control cycle failed")
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._config.control.period_s):
                        await self._wake.wait()
                self._wake.clear()
        finally:
            tasks = [*self._in_flight.values(), *self._notifications]
            if self._increases is not None:
                tasks.append(self._increases)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def cycle(self) -> None:
        now_s = self._clocks.monotonic()
        snapshot = self._site_state.snapshot()
        self._report_external_limits(snapshot)
        self._observe_compliance(now_s)
        control_input = build_control_input(
            self._site,
            self._config.control,
            snapshot,
            self._registry.ev_draw_a(),
            reserved_a=self._reserved_for_non_compliant(),
            group_limits_a=self._group_limits(),
            non_ev_hold=self._non_ev_hold,
            operator_limits=self.overrides.active_node_limits(now_s),
        )
        csms_evse_limits = self._csms_evse_limits()
        # The CSMS's own limit caps the session in the optimizer, so what it frees goes to others.
        sessions = [
            _capped(s, csms_evse_limits.get(s.evse_id))
            for s in self.overrides.adjust(self._registry.sessions())
            if s.evse_id not in self.compliance.flagged  # planned around, not counted on
        ]
        allocation = allocate(
            control_input.site, sessions, now_s, self._options, self._allocator_state
        )
        self._allocator_state = allocation.state
        self._forget_stale_installs()
        wanted = wanted_limits(
            self._site,
            self._config.stations,
            CycleInputs(
                allocation=allocation,
                evse_modes=control_input.evse_modes,
                floors_a=self.floors_a,
                installed=self._installed,
                csms_evse_limit_a=csms_evse_limits,
                csms_station_limit_a=self._csms_station_limits(),
                with_session=frozenset(s.evse_id for s in sessions),
            ),
        )
        wanted = self.overrides.label(wanted)
        self.last = CycleReport(now_s, control_input, allocation, wanted)
        changes = self._changes(wanted, now_s)
        if self._increases is not None:
            self._increases.cancel()  # planned on older readings; this cycle decides anew
            self._increases = None
        decreases = self._send([c for c in changes if c[1].is_decrease])
        self._decreasing.update(decreases)
        for task in decreases:
            task.add_done_callback(self._decreasing.discard)
        increases = [c for c in changes if not c[1].is_decrease]
        if decreases and increases:
            self._increases = asyncio.create_task(self._increase_after(decreases, increases))
        elif increases:
            self._send_increases(increases)

    async def _increase_after(
        self,
        decreases: list[asyncio.Task[None]],
        increases: list[tuple[StationRuntime, LimitChange]],
    ) -> None:
        """Send a cycle's increases once its decreases are answered (a task of its own, so
        the loop goes on meanwhile)."""
        await asyncio.wait(decreases, timeout=_DECREASE_WAIT_S)
        self._send_increases(increases)

    def _send_increases(self, increases: list[tuple[StationRuntime, LimitChange]]) -> None:
        """Only if no decrease (of this cycle or an earlier one) is still unanswered: the site
        must have made room before anyone takes more. An unanswered increase holds back
        nobody: a station that does not answer must not freeze everyone else's limits."""
        if not self._decreasing:
            self._send(increases)

    # -- what to send ------------------------------------------------------------------------

    def _changes(
        self, wanted: WantedLimits, now_s: float
    ) -> list[tuple[StationRuntime, LimitChange]]:
        changes = []
        for station in self._registry.stations.values():
            if not station.connected:
                continue
            strategy = self._strategy(station)
            wanted_here = {evse_key(e): wanted.evses[e] for e in station.config.evses.values()}
            wanted_here[lease_key(station.config.id)] = wanted.stations[station.config.id]
            floor = wanted.floors[station.config.id]
            wanted_here[floor_key(station.config.id)] = floor
            installed = self.believed_installed(station)
            for change in plan_changes(wanted_here, installed, strategy, now_s):
                if self._retry_after_s.get(change.key, 0) > now_s:
                    continue
                # A decrease replaces an older limit for the same key still queued at the
                # station (the relay coalesces by key); anything else waits for it.
                if change.key in self._in_flight and not change.is_decrease:
                    continue
                changes.append((station, change))
        # Within each station's queue, a decrease of the station-wide lease goes first: that one
        # frame caps the station's total, so the site is safe after one round trip per station
        # rather than after every EVSE's frame.
        return sorted(changes, key=lambda sc: (not sc[1].is_decrease, _send_rank(sc[1].key)))

    def _forget_stale_installs(self) -> None:
        """A limit counts as installed for one connection of its station and, on an EVSE, for
        one transaction (a TxProfile ends with its transaction): otherwise it is sent again."""
        for station in self._registry.stations.values():
            expected: dict[str, str | None] = {
                evse_key(evse.config.id): evse.transaction_id for evse in station.evses.values()
            }
            expected[lease_key(station.config.id)] = expected[floor_key(station.config.id)] = None
            for key, transaction_id in expected.items():
                if self._installed_for.get(key) != (station.connected_at_s, transaction_id):
                    self._installed.pop(key, None)

    def _csms_evse_limits(self) -> dict[str, float]:
        now = datetime.fromtimestamp(self._clocks.wall(), UTC)
        limits = {}
        for station in self._registry.stations.values():
            if not station.csms_profiles:
                continue
            for ocpp_id, evse in station.evses.items():
                limit_a, _ = composite_limit_at(
                    station.csms_profiles.values(), now, ocpp_id, self._site.nominal_voltage_v,
                    evse.config.phases, transaction_id=evse.transaction_id,
                )  # fmt: skip
                if limit_a is not None:
                    limits[evse.config.id] = limit_a
        return limits

    def _csms_station_limits(self) -> dict[str, float]:
        now = datetime.fromtimestamp(self._clocks.wall(), UTC)
        limits = {}
        for station_id, station in self._registry.stations.items():
            if station.csms_profiles:
                limit_a, _ = composite_limit_at(
                    station.csms_profiles.values(), now, 0, self._site.nominal_voltage_v, 3
                )
                if limit_a is not None:
                    limits[station_id] = limit_a
        return limits

    def _group_limits(self) -> dict[str, float]:
        """The limit the CSMS set on the controller's own identity, on its configured node."""
        identity, node = self.identity, self._config.identity
        if identity is None or node is None:
            return {}
        limit_a = identity.group_limit_a(datetime.fromtimestamp(self._clocks.wall(), UTC))
        return {} if limit_a is None else {node.node_id: limit_a}

    # -- stations that do not obey ---------------------------------------------------------

    def _observe_compliance(self, now_s: float) -> None:
        limits: dict[str, float] = {}
        draws: dict[str, float] = {}
        for station in self._registry.stations.values():
            for evse in station.evses.values():
                installed = self._installed.get(evse_key(evse.config.id))
                if installed is not None and evse.current_a:
                    limits[evse.config.id] = installed.limit_a
                    draws[evse.config.id] = max(evse.current_a)
        self.compliance.observe_draw(now_s, limits, draws)

    def _reserved_for_non_compliant(self) -> dict[str, tuple[float, float, float]]:
        """Per node, what flagged EVSEs below it draw (their maximum when they refuse profiles)."""
        if not self.compliance.flagged:
            return {}
        draws = self._registry.ev_draw_a()
        reserved: dict[str, tuple[float, float, float]] = {}
        for evse in self._site.evses:
            if evse.id not in self.compliance.flagged:
                continue
            if self.compliance.refuses_profiles(evse.id) or evse.id not in draws:
                draw = grid_draw_a(evse, (evse.max_current_a,) * evse.phases)
            else:
                draw = draws[evse.id]
            before = reserved.get(evse.node, (0.0, 0.0, 0.0))
            reserved[evse.node] = (before[0] + draw[0], before[1] + draw[1], before[2] + draw[2])
        return reserved

    # -- K14: external limits reported upstream -------------------------------------------

    def _report_external_limits(self, snapshot: SiteSnapshot) -> None:
        current = active_external_limits(snapshot)
        significance = self._config.control.limit_change_significance
        for change in external_limit_changes(self._external, current, significance):
            for station in self._stations_below(change.node_id):
                task = asyncio.create_task(self._report_upstream(station.config.id, change))
                self._notifications.add(task)
                task.add_done_callback(self._notifications.discard)
        self._external = current

    def _stations_below(self, node_id: str) -> list[StationRuntime]:
        """Connected stations with an EVSE below `node_id` that speak 2.0.1 or later (1.6 has
        no message for this)."""
        return [
            station
            for station in self._registry.stations.values()
            if station.connected
            and station.version not in (None, OcppVersion.V16)
            and any(node_id in self._site.ancestors(e.config.node) for e in station.evses.values())
        ]

    async def _report_upstream(self, station_id: str, change: ExternalLimitChange) -> None:
        action = "NotifyChargingLimit" if change.kind == "notify" else "ClearedChargingLimit"
        payload: JsonObject = {"chargingLimitSource": "EMS"}
        if change.kind == "notify":
            payload = {"chargingLimit": payload}
        try:
            await self._relay.call(station_id, action, payload, destination=Side.CSMS)
        except OwnCallError as exc:
            log.warning(
                "%s for %s not delivered: %s",
                action,
                station_id,
                exc,
                extra={"station_id": station_id},
            )

    # -- sending -----------------------------------------------------------------------------

    def _send(self, changes: list[tuple[StationRuntime, LimitChange]]) -> list[asyncio.Task[None]]:
        tasks = []
        for station, change in changes:
            task = asyncio.create_task(self._send_one(station, change))
            self._in_flight[change.key] = task
            task.add_done_callback(functools.partial(self._sent, change.key))
            tasks.append(task)
        return tasks

    def _sent(self, key: str, task: asyncio.Task[None]) -> None:
        if self._in_flight.get(key) is task:  # not replaced by a newer limit for the key
            del self._in_flight[key]
        if not task.cancelled() and task.exception() is not None:
            log.error("sending %s failed", key, exc_info=task.exception())

    async def _send_one(self, station: StationRuntime, change: LimitChange) -> None:
        assert station.version is not None
        strategy = self._strategy(station)
        target = self._target(station, change.key)
        now = datetime.fromtimestamp(self._clocks.wall(), UTC)
        spec = build_profile(
            target, change.limit_a, change.phases, strategy, now=now,
            nominal_voltage_v=self._site.nominal_voltage_v,
        )  # fmt: skip
        station_id = station.config.id
        try:
            answer = await self._relay.call(
                station_id,
                "SetChargingProfile",
                spec.to_payload(station.version),
                coalesce_key=change.key,
            )
        except OwnCallError as exc:
            if exc.error_code == "Superseded":  # a newer limit for the key took its place
                return
            log.warning(
                "%s: limit %s not delivered: %s",
                station_id,
                change.key,
                exc,
                extra={"station_id": station_id},
            )
            return
        limited = self._evses_limited_by(station, change.key)
        self.compliance.profile_answer(
            self._clocks.monotonic(), limited, answer.get("status") == "Accepted"
        )
        if answer.get("status") != "Accepted":
            log.warning(
                "%s rejected %s at %.1f A: %s", station_id, change.key, change.limit_a, answer,
                extra={"station_id": station_id},
            )  # fmt: skip
            delay_s = min(self._retry_delay_s.get(change.key, _RETRY_FIRST_S / 2) * 2, _RETRY_MAX_S)
            self._retry_delay_s[change.key] = delay_s
            self._retry_after_s[change.key] = self._clocks.monotonic() + delay_s
            return
        self._retry_delay_s.pop(change.key, None)
        self._accepted(station, change, target, strategy)

    def _accepted(
        self,
        station: StationRuntime,
        change: LimitChange,
        target: LimitTarget,
        strategy: ProfileStrategy,
    ) -> None:
        floor = target.kind == "floor"
        lease_until_s = math.inf if floor else self._clocks.monotonic() + strategy.lease_s
        self._installed[change.key] = InstalledLimit(change.limit_a, change.phases, lease_until_s)
        self._installed_for[change.key] = (station.connected_at_s, target.transaction_id)
        self._restored.get(station.config.id, {}).pop(change.key, None)
        lease_until_wall_s = None if floor else self._clocks.wall() + strategy.lease_s
        record = InstallRecord(
            change.limit_a, change.phases, lease_until_wall_s, target.transaction_id
        )
        self.journal.limit_installed(station.config.id, change.key, record)

    @staticmethod
    def _evses_limited_by(station: StationRuntime, key: str) -> list[str]:
        kind, _, name = key.partition(":")
        return [name] if kind == "evse" else list(station.config.evses.values())

    def _strategy(self, station: StationRuntime) -> ProfileStrategy:
        return STRATEGIES[station.config.profile].with_lease(self._config.control.lease_s)

    def _target(self, station: StationRuntime, key: str) -> LimitTarget:
        kind, _, name = key.partition(":")
        if kind != "evse":
            return LimitTarget(kind)
        ocpp_id, evse = next((n, e) for n, e in station.evses.items() if e.config.id == name)
        return LimitTarget("evse", ocpp_id, evse.transaction_id)


def _send_rank(key: str) -> int:
    return 0 if key.startswith("lease:") else 1


def _capped(session: Session, cap_a: float | None) -> Session:
    if cap_a is None:
        return session
    ev_max_a = session.ev_max_current_a
    return dataclasses.replace(
        session, ev_max_current_a=cap_a if ev_max_a is None else min(ev_max_a, cap_a)
    )
