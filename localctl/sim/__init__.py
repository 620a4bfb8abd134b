"""Simulated charging stations and a stub CSMS, built on the `ocpp` package.

They speak only OCPP-J over WebSocket to a URL, for the relay's integration tests (real
sockets on port 0) and for the demo::

    async with StubCsms() as csms, SimStation201(csms.url, "CS-1") as station:
        await station.boot()
        answer = await csms.call("CS-1", call201.GetVariables(get_variable_data=[...]))
        assert csms.received("CS-1")[0][0] == "BootNotification"

Both sides record every CALL they receive (`received`, `received_calls` with message ids,
`wait_for_call`), can be scripted to answer an action with a CALLERROR or not at all
(`ReplyScript`), and show their traffic through an `on_frame` hook. Calls return the
`ocpp` result dataclasses and raise `PeerCallError` on a CALLERROR.

`SimSite` builds the stations of a site configuration and runs the site around them: EVs
(`Ev`, `EvSpec`) arriving by a script or a seeded random process, base loads, an SDM630
site meter over Modbus TCP (`SiteMeterServer`) and overload accounting
(`OverloadTracker`), all on a `SimClock` that tests can run fast. Station quirks
(`StationQuirks`) are data. See docs/simulator.md.
"""

from localctl.sim.arrivals import Arrival, random_arrivals
from localctl.sim.base_load import BaseLoad, constant_base_load, daily_base_load, step_base_load
from localctl.sim.clock import SimClock
from localctl.sim.csms import StubCsms
from localctl.sim.endpoint import ReceivedCall, ReplyScript
from localctl.sim.errors import (
    ConnectionLostError,
    InvalidResultError,
    NotConnectedError,
    PeerCallError,
    SimError,
    SubprotocolMismatchError,
)
from localctl.sim.ev import EV_SPECS, Ev, EvSpec
from localctl.sim.fleet import build_fleet, run_fleet
from localctl.sim.meter_server import MeterReading, SiteMeterServer
from localctl.sim.overload import OverloadTracker, PhaseOverload
from localctl.sim.quirks import StationQuirks
from localctl.sim.scenario import EV_MODELS, EvModel, run_station_life
from localctl.sim.site import SimSite, SiteSettings
from localctl.sim.site_calls import CallFailure
from localctl.sim.site_meters import SiteMeters, sdm630_meter_ports
from localctl.sim.site_stations import StationPlan
from localctl.sim.station16 import SimStation16
from localctl.sim.station201 import SimStation201
from localctl.sim.station_base import ConnectionOptions, LifecycleStation, StationIdentity
from localctl.sim.synthetic import synthetic_config

__all__ = [
    "EV_MODELS",
    "EV_SPECS",
    "Arrival",
    "BaseLoad",
    "CallFailure",
    "ConnectionLostError",
    "ConnectionOptions",
    "Ev",
    "EvModel",
    "EvSpec",
    "InvalidResultError",
    "LifecycleStation",
    "MeterReading",
    "NotConnectedError",
    "OverloadTracker",
    "PeerCallError",
    "PhaseOverload",
    "ReceivedCall",
    "ReplyScript",
    "SimClock",
    "SimError",
    "SimSite",
    "SimStation16",
    "SimStation201",
    "SiteMeterServer",
    "SiteMeters",
    "SiteSettings",
    "StationIdentity",
    "StationPlan",
    "StationQuirks",
    "StubCsms",
    "SubprotocolMismatchError",
    "build_fleet",
    "constant_base_load",
    "daily_base_load",
    "random_arrivals",
    "run_fleet",
    "run_station_life",
    "sdm630_meter_ports",
    "step_base_load",
    "synthetic_config",
]
