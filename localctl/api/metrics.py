"""Prometheus metrics, derived from what the service already has.

The relay's hot path pays one dictionary update per frame (`TrafficCounters.observe`, called
from the relay's event listener) and, for a call, remembering when it passed; everything else
is read from the controller's state when Prometheus scrapes (`SiteCollector`).

`localctl_relayed_call_seconds` is the time from a relayed CALL passing the relay to its
answer passing back: the peer's answer time plus the network, as the relay sees it; the
latency the relay itself adds to each frame is `localctl_relay_frame_seconds`.
`localctl_outbox_backlog` counts the transaction messages stored during CSMS outages and not
yet delivered, per station (read from the outbox file every 2 s).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

from localctl.histogram import Histogram
from localctl.relay.events import FrameRelayed, LinkEvent, OwnCallAnswered, OwnCallFailed, Side
from localctl.relay.frames import MessageType

if TYPE_CHECKING:
    from localctl.service import Controller

BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
_MAX_CALLS_REMEMBERED = 100_000  # calls never answered (lost sockets) must not pile up


class TrafficCounters:
    def __init__(self, monotonic: Callable[[], float]) -> None:
        self._monotonic = monotonic
        self.messages: Counter[tuple[str, str, str]] = Counter()
        """(action, direction, message type) -> frames relayed"""
        self.own_calls: Counter[tuple[str, str]] = Counter()
        """(action, result) -> the controller's own calls answered or failed"""
        self.latency: dict[str, Histogram] = {}
        """calling direction -> relayed call to its answer (s)"""
        self._calls: dict[tuple[str, str], float] = {}

    def observe(self, station_id: str, event: LinkEvent) -> None:
        if isinstance(event, FrameRelayed):
            direction = "station->csms" if event.source is Side.STATION else "csms->station"
            self.messages[(event.action, direction, event.message_type.name)] += 1
            if event.message_type is MessageType.CALL:
                if len(self._calls) >= _MAX_CALLS_REMEMBERED:
                    self._calls.clear()
                self._calls[(station_id, event.message_id)] = self._monotonic()
            else:
                started_s = self._calls.pop((station_id, event.message_id), None)
                if started_s is not None:
                    # the answer travels the other way: label by who called
                    caller = "csms->station" if event.source is Side.STATION else "station->csms"
                    self._latency(caller, self._monotonic() - started_s)
        elif isinstance(event, OwnCallAnswered):
            self.own_calls[(event.action, "answered")] += 1
        elif isinstance(event, OwnCallFailed):
            self.own_calls[(event.action, event.error_code)] += 1

    def _latency(self, direction: str, elapsed_s: float) -> None:
        self.latency.setdefault(direction, Histogram(BUCKETS_S)).record(elapsed_s)


class SiteCollector(Collector):
    """Everything but the traffic counters, computed at scrape time."""

    def __init__(self, controller: Controller, traffic: TrafficCounters) -> None:
        self._c = controller
        self._traffic = traffic

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily | HistogramMetricFamily]:
        yield from self._traffic_metrics()
        yield self._queue_depths()
        yield from self._control_metrics()
        yield self._input_ages()
        yield self._auth_failures()
        yield self._outbox_backlog()
        yield self._relay_hold_time()

    def _relay_hold_time(self) -> HistogramMetricFamily:
        timing = self._c.relay.frame_timing
        hold = HistogramMetricFamily(
            "localctl_relay_frame_seconds",
            "time the relay holds a frame, from the complete message to its forward written (s)",
        )
        hold.add_metric([], timing.cumulative(), timing.total_s)
        return hold

    def _outbox_backlog(self) -> GaugeMetricFamily:
        backlog = GaugeMetricFamily(
            "localctl_outbox_backlog",
            "transaction messages stored offline, not yet delivered to the CSMS",
            labels=["station"],
        )
        for station_id, count in sorted(self._c.outbox_backlog.items()):
            backlog.add_metric([station_id], count)
        return backlog

    def _traffic_metrics(self) -> Iterator[CounterMetricFamily | HistogramMetricFamily]:
        messages = CounterMetricFamily(
            "localctl_messages", "frames relayed", labels=["action", "direction", "type"]
        )
        for (action, direction, kind), count in sorted(self._traffic.messages.items()):
            messages.add_metric([action, direction, kind], count)
        yield messages
        own = CounterMetricFamily(
            "localctl_own_calls",
            "the controller's own calls, by result",
            labels=["action", "result"],
        )
        for (action, result), count in sorted(self._traffic.own_calls.items()):
            own.add_metric([action, result], count)
        yield own
        latency = HistogramMetricFamily(
            "localctl_relayed_call_seconds",
            "relayed CALL to its answer, as seen at the relay (s)",
            labels=["direction"],
        )
        for direction, histogram in sorted(self._traffic.latency.items()):
            latency.add_metric([direction], histogram.cumulative(), histogram.total_s)
        yield latency

    def _queue_depths(self) -> GaugeMetricFamily:
        depth = GaugeMetricFamily(
            "localctl_queue_depth",
            "calls waiting in a station's sending queue, per destination",
            labels=["station", "destination"],
        )
        for station_id in self._c.relay.station_ids:
            link = self._c.relay.link(station_id)
            if link is not None:
                for side in Side:
                    depth.add_metric([station_id, side.value], link.session.queue_depth(side))
        return depth

    def _control_metrics(self) -> Iterator[GaugeMetricFamily]:
        loop = self._c.loop
        report = loop.last if loop else None
        allocation = GaugeMetricFamily(
            "localctl_evse_limit_amperes",
            "limit wanted for an EVSE (A)",
            labels=["evse", "bound_by"],
        )
        headroom = GaugeMetricFamily(
            "localctl_node_headroom_amperes",
            "what a node's limits have left (A)",
            labels=["node", "phase"],
        )
        flagged = GaugeMetricFamily(
            "localctl_non_compliant_evses", "EVSEs drawing more than their limit (flagged)"
        )
        if report is not None:
            for evse_id, wanted in sorted(report.wanted.evses.items()):
                allocation.add_metric([evse_id, report.wanted.why.get(evse_id, "")], wanted.limit_a)
            for node in report.allocation.nodes:
                for phase, value in zip(("L1", "L2", "L3"), node.headroom_a, strict=True):
                    if value is not None:
                        headroom.add_metric([node.node_id, phase], value)
        flagged.add_metric([], len(loop.compliance.flagged) if loop else 0)
        yield allocation
        yield headroom
        yield flagged
        yield self._non_compliant_by_station()
        stations = GaugeMetricFamily("localctl_stations_connected", "stations connected")
        stations.add_metric([], len(self._c.relay.station_ids))
        yield stations

    def _non_compliant_by_station(self) -> GaugeMetricFamily:
        by_station = GaugeMetricFamily(
            "localctl_non_compliant_station",
            "1 for each station with an EVSE flagged for drawing over its limit or refusing it",
            labels=["station", "evse"],
        )
        flagged = self._c.loop.compliance.flagged if self._c.loop else {}
        registry = self._c.registry
        for station_id, station in sorted(registry.stations.items()) if registry else ():
            for evse in station.evses.values():
                if evse.config.id in flagged:
                    by_station.add_metric([station_id, evse.config.id], 1)
        return by_station

    def _auth_failures(self) -> CounterMetricFamily:
        """Station handshakes refused by authentication, by reason (localctl.security)."""
        failures = CounterMetricFamily(
            "localctl_station_auth_failures", "station handshakes refused", labels=["reason"]
        )
        authenticator = self._c.relay.security.authenticator
        for reason, count in sorted(authenticator.failures.items() if authenticator else ()):
            failures.add_metric([reason], count)
        return failures

    def _input_ages(self) -> GaugeMetricFamily:
        ages = GaugeMetricFamily(
            "localctl_input_age_seconds", "age of each meter's latest reading (s)", labels=["input"]
        )
        for meter in self._c.site_state.snapshot().meters:
            if meter.age_s is not None:
                ages.add_metric([meter.meter_id], meter.age_s)
        return ages
