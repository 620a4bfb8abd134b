"""The simulated stations of a site configuration: ids, port numbering, OCPP versions.

Each `StationConfig` becomes one `SimStation16` or `SimStation201` with as many connectors
or EVSEs as its highest OCPP port id, the site EVSEs' maxima and phases on its ports, the
quirks asked for, and the sampling interval for its meter values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from localctl.config.model import LocalctlConfig
from localctl.config.site import StationConfig
from localctl.sim.endpoint import MAX_LOGGED_CALLS, FrameHook
from localctl.sim.errors import SimError
from localctl.sim.ocpp_glue import OCPP16, OCPP201
from localctl.sim.quirks import COMPLIANT, StationQuirks
from localctl.sim.station16 import SimStation16
from localctl.sim.station201 import SimStation201
from localctl.sim.station_base import Clock, ConnectionOptions, StationIdentity

SiteStation = SimStation16 | SimStation201


@dataclass(frozen=True)
class StationPlan:
    """How to build the stations; every mapping is keyed by station id."""

    versions: Mapping[str, str] | None = None
    """ocpp1.6 or ocpp2.0.1 per station; default: alternate, the first station 1.6."""
    quirks: Mapping[str, StationQuirks] = field(default_factory=dict)
    sample_interval_s: int = 10
    """Initial MeterValueSampleInterval (1.6) / TxUpdatedInterval (2.0.1); the controller
    may change it over OCPP."""
    on_frame: FrameHook | None = None
    extra_headers: Mapping[str, str] | None = None
    logged_calls: int = MAX_LOGGED_CALLS
    """How many of the newest CALLs each station keeps for inspection."""

    def version_of(self, index: int, station_id: str) -> str:
        if self.versions is not None and station_id in self.versions:
            version = self.versions[station_id]
            if version not in (OCPP16, OCPP201):
                raise SimError(f"station {station_id}: unknown version {version}")
            return version
        return OCPP16 if index % 2 == 0 else OCPP201


def build_station(
    config: LocalctlConfig,
    station: StationConfig,
    *,
    version: str,
    url: str,
    clock: Clock,
    plan: StationPlan,
) -> SiteStation:
    """One unconnected station for `station`, its ports set up from the site's EVSEs."""
    if config.site is None:
        raise SimError("a simulated site needs the site section")
    evses = {evse.id: evse for evse in config.site.evses}
    ports = {port: evses[evse_id] for port, evse_id in station.evses.items()}
    identity = StationIdentity(max_current_a=max(e.max_current_a for e in ports.values()))
    options = ConnectionOptions(
        identity=identity,
        clock=clock,
        quirks=plan.quirks.get(station.id, COMPLIANT),
        on_frame=plan.on_frame,
        extra_headers=plan.extra_headers,
        logged_calls=plan.logged_calls,
    )
    interval = str(plan.sample_interval_s)
    built: SiteStation
    if version == OCPP16:
        keys = {"MeterValueSampleInterval": interval}
        built = SimStation16(url, station.id, connectors=max(ports), config=keys, **options)
    else:
        variables = {("SampledDataCtrlr", "TxUpdatedInterval"): interval}
        built = SimStation201(url, station.id, evses=max(ports), variables=variables, **options)
    for port, evse in ports.items():
        built.port_phases[port] = evse.phases
        built.profiles.port_max_a[port] = evse.max_current_a
    return built


def build_site_stations(
    config: LocalctlConfig, url: str, clock: Clock, plan: StationPlan
) -> dict[str, SiteStation]:
    """Every station of the configuration, by station id, in file order."""
    return {
        station.id: build_station(
            config,
            station,
            version=plan.version_of(index, station.id),
            url=url,
            clock=clock,
            plan=plan,
        )
        for index, station in enumerate(config.stations)
    }


def sample_interval_s(station: SiteStation) -> float:
    """The station's current sampling interval for meter values (0: none)."""
    if isinstance(station, SimStation16):
        return float(station.config.value("MeterValueSampleInterval"))
    return float(station.variables.value("SampledDataCtrlr", "TxUpdatedInterval"))


def heartbeat_interval_s(station: SiteStation) -> float:
    """The station's heartbeat interval (0: none), as its BootNotification answer set it."""
    if isinstance(station, SimStation16):
        return float(station.config.value("HeartbeatInterval"))
    return float(station.variables.value("OCPPCommCtrlr", "HeartbeatInterval"))
