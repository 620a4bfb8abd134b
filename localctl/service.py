"""`localctl run`: everything one configuration asks for, started and stopped together.

The relay always runs. With a site: the inputs (Modbus and MQTT meters, EMS limits over MQTT
or a Modbus server) deliver into one SiteState, input status transitions are logged and
published, and telemetry goes out over MQTT when a broker is configured. Every task lives in
one TaskGroup: a stop request, or any task failing, stops them all cleanly.

With a site, the control state file is opened and loaded before the relay accepts a station,
so a reconnecting station finds its sessions, the CSMS's profiles and its installed limits as
they were; a state file that cannot be used stops the start (`StateFileError`).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import Coroutine
from functools import partial

from localctl.api.service import OperatorApi
from localctl.clocks import Clocks
from localctl.config.model import LocalctlConfig
from localctl.control.csms_profiles import controller_policy
from localctl.control.identity import ControllerIdentity
from localctl.control.loop import ControlLoop
from localctl.control.registry import StationRegistry
from localctl.control.state_records import ControlState
from localctl.control.state_store import ControlStateStore, StateFileError
from localctl.control.strategy import STRATEGIES
from localctl.inputs.modbus.ems_server import ControllerStatus, EmsModbusServer
from localctl.inputs.modbus.ems_server import SiteSnapshot as EmsSnapshot
from localctl.inputs.modbus.meter import MeterPoller
from localctl.inputs.mqtt.client import MqttClient
from localctl.inputs.mqtt.ems import EmsLimitInput
from localctl.inputs.mqtt.meter import MqttMeterInput
from localctl.inputs.mqtt.telemetry import (
    JsonObject,
    JsonValue,
    TelemetryPublisher,
    TelemetrySnapshot,
)
from localctl.io.identity_client import IdentityClient
from localctl.io.outage import OutageSettings
from localctl.io.relay_server import RelayServer
from localctl.model.errors import UnreadablePayloadError
from localctl.offline import Outbox, OutboxError
from localctl.relay.events import LinkEvent
from localctl.relay.policy import TRANSPARENT, Policy
from localctl.relay.schemas import SchemaRegistry, actions_of
from localctl.relay.store_forward import ReplayRules
from localctl.relay.versions import OcppVersion
from localctl.site.state import InputStatus, InputTransition, SiteSnapshot, SiteState
from localctl.site.to_optimizer import EvseMode

log = logging.getLogger("localctl")

_OUTBOX_COUNT_INTERVAL_S = 2.0

_STATUS_MEANING = {
    InputStatus.FRESH: "in use",
    InputStatus.STALE: "stale: its node is assumed at its limit, no increases below it",
    InputStatus.LOST: "lost: EVSEs below its node fall back to their floors",
}


class Controller:
    """The running controller of one configuration."""

    def __init__(self, config: LocalctlConfig, clocks: Clocks | None = None) -> None:
        self.config = config
        self.clocks = clocks or Clocks()
        self.schemas = SchemaRegistry()
        control = config.control
        self.site_state = SiteState(
            config.inputs.meter_nodes(),
            control.meter_stale_s,
            control.meter_lost_s,
            self.clocks.monotonic,
        )
        self.registry: StationRegistry | None = None
        self.loop: ControlLoop | None = None
        if config.site is not None:
            self.registry = StationRegistry(
                config.site, config.stations, self.clocks.monotonic, self.clocks.wall
            )
        self.relay = RelayServer(
            config.relay,
            self.schemas,
            clock=self.clocks.monotonic,
            listener=self._on_link_event,
            policy_for=self._policy_for,
        )
        if config.site is not None and self.registry is not None:
            self.loop = ControlLoop(config, self.relay, self.site_state, self.registry, self.clocks)
            self.site_state.on_change = self.loop.wake
        self.identity_client: IdentityClient | None = None
        if config.identity is not None and config.site is not None:
            identity = ControllerIdentity(
                config.identity.station_id,
                OcppVersion(config.identity.ocpp_version),
                config.site.nominal_voltage_v,
            )
            self.identity_client = IdentityClient(
                identity,
                config.relay.upstream_url,
                self.clocks,
                reconnect_max_s=config.identity.reconnect_max_s,
                # The controller's own TLS and credentials, as for every upstream socket.
                connect_options=partial(
                    self.relay.security.upstream_options, config.identity.station_id
                ),
            )
            if self.loop is not None:
                self.loop.identity = identity
        self.mqtt = MqttClient(config.mqtt) if config.mqtt is not None else None
        self.ems_server: EmsModbusServer | None = None
        self.telemetry: TelemetryPublisher | None = None
        self.api = OperatorApi(self, config.api) if config.api is not None else None
        self.started = asyncio.Event()
        self.outbox: Outbox | None = None
        self.state: ControlStateStore | None = None
        # Undelivered outbox entries per station, refreshed every few seconds for the metrics.
        self.outbox_backlog: dict[str, int] = {}

    async def run(self, stop: asyncio.Event) -> None:
        """Start everything, run until `stop` is set, then stop everything."""
        for version in (OcppVersion.V16, OcppVersion.V201):
            self.schemas.warm(version, actions_of(version))
        # Everything loaded so far lives as long as the process: keep collections off it.
        gc.collect()
        gc.freeze()
        async with contextlib.AsyncExitStack() as stack:
            if self.registry is not None and self.loop is not None:
                self.state = await self._open_state(stack, self.registry, self.loop)
            if self.config.relay.offline.enabled:
                self.outbox = await self._open_outbox(stack)
            await stack.enter_async_context(self.relay)
            if self.mqtt is not None:
                await stack.enter_async_context(self.mqtt)
            async with asyncio.TaskGroup() as tasks:
                workers = [tasks.create_task(w) for w in await self._workers(stack)]
                self.started.set()
                await stop.wait()
                for worker in workers:
                    worker.cancel()

    async def _open_outbox(self, stack: contextlib.AsyncExitStack[bool | None]) -> Outbox:
        offline = self.config.relay.offline
        path = offline.resolved_outbox_path()
        outbox = await Outbox.open(path)
        stack.push_async_callback(outbox.close)  # after the relay: its last writes finish first
        self.relay.enable_offline(
            OutageSettings(
                outbox,
                reconnect_min_s=offline.reconnect_min_s,
                reconnect_max_s=offline.reconnect_max_s,
                replay=ReplayRules(offline.replay_attempts, offline.replay_retry_interval_s),
                unknown_token_policy=offline.unknown_token_policy,
                accepted_tokens=frozenset(offline.accepted_tokens),
                wall=self.clocks.wall,
                rng=self.clocks.rng,
            )
        )
        log.info("offline operation on; outbox %s", path)
        return outbox

    async def _open_state(
        self,
        stack: contextlib.AsyncExitStack[bool | None],
        registry: StationRegistry,
        loop: ControlLoop,
    ) -> ControlStateStore:
        path = self.config.control.resolved_state_path(self.config.relay.offline.outbox_path)
        store = await ControlStateStore.open(path)
        stack.push_async_callback(store.close)  # after the relay: its last changes are kept
        state = await store.load()
        try:
            await self._restore(store, state, registry, loop)
        except UnreadablePayloadError as error:
            raise StateFileError(path, f"a saved CSMS profile is unreadable: {error}") from error
        registry.journal = loop.journal = store
        return store

    async def _restore(
        self,
        store: ControlStateStore,
        state: ControlState,
        registry: StationRegistry,
        loop: ControlLoop,
    ) -> None:
        sessions = profiles = 0
        for station_id, saved in state.stations.items():
            if station_id not in registry.stations:
                log.warning(
                    "control state %s: station %s is no longer configured; its saved "
                    "sessions, CSMS profiles and limits are dropped",
                    store.path,
                    station_id,
                )
                await store.forget_station(station_id)
                continue
            for ocpp_id in registry.restore(station_id, saved):
                log.warning(
                    "control state %s: %s has no EVSE %d any more; its saved session is dropped",
                    store.path,
                    station_id,
                    ocpp_id,
                )
                await store.forget_evse(station_id, ocpp_id)
            loop.restore(station_id, saved.installed)
            sessions += sum(1 for r in saved.evses.values() if r.transaction_id is not None)
            profiles += len(saved.csms_profiles)
        log.info(
            "control state %s: %d sessions and %d CSMS profiles restored",
            store.path,
            sessions,
            profiles,
        )

    async def _count_outbox_backlog(self, outbox: Outbox) -> None:
        while True:
            with contextlib.suppress(OutboxError):  # a busy file: next time
                self.outbox_backlog = await outbox.backlog()
            await asyncio.sleep(_OUTBOX_COUNT_INTERVAL_S)

    async def _workers(
        self, stack: contextlib.AsyncExitStack[bool | None]
    ) -> list[Coroutine[None, None, None]]:
        clocks, inputs, sink = self.clocks, self.config.inputs, self.site_state
        workers: list[Coroutine[None, None, None]] = [
            MeterPoller(m, sink, monotonic=clocks.monotonic, wall=clocks.wall, rng=clocks.rng).run()
            for m in inputs.modbus_meters
        ]
        if self.mqtt is not None:
            for mqtt_meter in inputs.mqtt_meters:
                meter_input = MqttMeterInput(
                    self.mqtt, mqtt_meter, sink, monotonic=clocks.monotonic, wall=clocks.wall
                )
                workers.append(meter_input.run())
            if inputs.ems_mqtt is not None:
                EmsLimitInput(
                    self.mqtt, inputs.ems_mqtt, sink, monotonic=clocks.monotonic, wall=clocks.wall
                )
            self.telemetry = TelemetryPublisher(
                self.mqtt,
                self.mqtt.config.base_topic,
                self.telemetry_snapshot,
                interval_s=self.mqtt.config.telemetry_interval_s,
            )
            workers.append(self.telemetry.run())
        if inputs.ems_modbus is not None:
            self.ems_server = EmsModbusServer(
                inputs.ems_modbus,
                sink,
                self._ems_snapshot,
                monotonic=clocks.monotonic,
                wall=clocks.wall,
            )
            await stack.enter_async_context(self.ems_server)
            workers.append(self.ems_server.watch())
        workers.append(self._watch_inputs())
        if self.outbox is not None:
            workers.append(self._count_outbox_backlog(self.outbox))
        if self.api is not None:
            await stack.enter_async_context(self.api)
            workers.append(self.api.run())
        if self.loop is not None:
            workers.append(self.loop.run())
        if self.identity_client is not None:
            workers.append(self.identity_client.run())
        security = self.relay.security
        if security.certificates.chains:  # reload renewed certificates without a restart
            workers.append(security.certificates.run(security.check_interval_s))
        return workers

    def _policy_for(self, station_id: str, version: OcppVersion) -> Policy:
        """Stations the controller manages get their CSMS profiles kept off its stack levels."""
        station = self.registry.stations.get(station_id) if self.registry else None
        if station is None or version is OcppVersion.V21:
            return TRANSPARENT
        strategy = STRATEGIES[station.config.profile]
        return controller_policy(strategy, version)

    def _on_link_event(self, station_id: str, event: LinkEvent) -> None:
        if self.api is not None:
            self.api.on_link_event(station_id, event)
        if self.registry is None:
            return
        self.registry.on_link_event(station_id, event)
        if self.registry.changed and self.loop is not None:
            self.registry.changed = False
            self.loop.wake()

    async def _watch_inputs(self) -> None:
        """Log and publish every input status transition, once."""
        while True:
            snapshot = self.site_state.snapshot()
            transitions = self.site_state.transitions(snapshot)
            for transition in transitions:
                _log_transition(transition)
                if self.api is not None:
                    self.api.input_transition(transition, _STATUS_MEANING[transition.current])
                if self.telemetry is not None:
                    self.telemetry.publish_event(_transition_event(transition))
            if transitions and self.telemetry is not None:
                self.telemetry.notify_changed()
            await asyncio.sleep(self.config.control.period_s)

    def telemetry_snapshot(self) -> TelemetrySnapshot:
        snapshot = self.site_state.snapshot()
        name = self.config.site.name if self.config.site else "relay"
        site: dict[str, JsonValue] = {
            "name": name,
            "stations_connected": len(self.relay.station_ids),
            "ems_limits": _ems_json(snapshot),
        }
        meters: dict[str, JsonObject] = {
            m.meter_id: {
                "node": m.node_id,
                "status": m.status.value,
                # The reading's own time, not its age: an age changes every sample and would
                # defeat the publisher's deduplication.
                "read_at_s": None if m.reading is None else round(m.reading.wall_time_s, 3),
                "current_a": None if m.reading is None else list(m.reading.current_a),
            }
            for m in snapshot.meters
        }
        stations = self._station_telemetry()
        return TelemetrySnapshot(
            site=site, evses=self._evse_telemetry(), meters=meters, stations=stations
        )

    def _station_telemetry(self) -> dict[str, JsonObject]:
        """Every connected station, and every configured one even when it is not connected."""
        stations: dict[str, JsonObject] = {
            station_id: {"connected": True, "configured": False}
            for station_id in self.relay.station_ids
        }
        for station_id, station in (self.registry.stations if self.registry else {}).items():
            stations[station_id] = {
                "connected": station.connected,
                "configured": True,
                "ocpp_version": None if station.version is None else station.version.value,
                "evses": {
                    evse.config.id: {
                        "status": None if evse.status is None else evse.status.value,
                        "transaction_id": evse.transaction_id,
                    }
                    for evse in station.evses.values()
                },
            }
        return stations

    def _evse_telemetry(self) -> dict[str, JsonObject]:
        report = self.loop.last if self.loop is not None else None
        if report is None:
            return {}
        modes = report.control_input.evse_modes
        draws = self.registry.ev_draw_a() if self.registry is not None else {}
        flagged = self.loop.compliance.flagged if self.loop is not None else {}
        return {
            evse_id: {
                "limit_a": wanted.limit_a,
                "phases": wanted.phases,
                "bound_by": report.wanted.why.get(evse_id, ""),
                "mode": modes[evse_id].value if evse_id in modes else "normal",
                "reason": report.control_input.mode_reasons.get(evse_id, ""),
                "non_compliant": flagged[evse_id].reason if evse_id in flagged else None,
                "draw_a": list(draws.get(evse_id, (0.0, 0.0, 0.0))),
            }
            for evse_id, wanted in report.wanted.evses.items()
        }

    def _ems_snapshot(self) -> EmsSnapshot:
        """What the EMS reads back: measured and allocated current at its node, sessions, and
        whether the controller runs normally, holds (stale input) or sits on the floors."""
        snapshot = self.site_state.snapshot()
        node_id = self.config.inputs.ems_modbus.node_id if self.config.inputs.ems_modbus else ""
        current_a = next(
            (m.reading.current_a for m in snapshot.meters if m.node_id == node_id and m.reading),
            (0.0, 0.0, 0.0),
        )
        report = self.loop.last if self.loop is not None else None
        if report is None or self.config.site is None:
            return EmsSnapshot(current_a, (0.0, 0.0, 0.0), 0, ControllerStatus.STARTING)
        below = {
            e.id for e in self.config.site.evses if node_id in self.config.site.ancestors(e.node)
        }
        allocated = [0.0, 0.0, 0.0]
        for evse in report.allocation.evses:
            if evse.evse_id in below:
                allocated = [a + g for a, g in zip(allocated, evse.grid_current_a, strict=True)]
        modes = set(report.control_input.evse_modes.values())
        status = (
            ControllerStatus.FALLBACK
            if EvseMode.FLOORS in modes
            else ControllerStatus.DEGRADED
            if EvseMode.HOLD in modes
            else ControllerStatus.NORMAL
        )
        sessions = sum(
            1 for evse_id in report.wanted.why if report.wanted.why[evse_id] != "no_session"
        )
        return EmsSnapshot(current_a, (allocated[0], allocated[1], allocated[2]), sessions, status)


def _ems_json(snapshot: SiteSnapshot) -> list[JsonValue]:
    return [
        {
            "node": view.node_id,
            "source": view.limit.source,
            "power_w": view.limit.power_w,
            "current_a": None if view.limit.current_a is None else list(view.limit.current_a),
            "expired": view.expired,
        }
        for view in snapshot.ems_limits
    ]


def _transition_event(transition: InputTransition) -> JsonObject:
    return {
        "event": "input_status",
        "input": transition.input_id,
        "previous": None if transition.previous is None else transition.previous.value,
        "current": transition.current.value,
        "meaning": _STATUS_MEANING[transition.current],
    }


def _log_transition(transition: InputTransition) -> None:
    previous = "unknown" if transition.previous is None else transition.previous.value
    level = logging.INFO if transition.current is InputStatus.FRESH else logging.WARNING
    log.log(
        level,
        "input %s: %s -> %s (%s)",
        transition.input_id,
        previous,
        transition.current.value,
        _STATUS_MEANING[transition.current],
    )
