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
"""

from localctl.sim.csms import StubCsms
from localctl.sim.endpoint import ReceivedCall, ReplyScript
from localctl.sim.errors import (
    ConnectionLostError,
    NotConnectedError,
    PeerCallError,
    SimError,
    SubprotocolMismatchError,
)
from localctl.sim.fleet import build_fleet, run_fleet
from localctl.sim.scenario import EV_MODELS, EvModel, run_station_life
from localctl.sim.station16 import SimStation16
from localctl.sim.station201 import SimStation201
from localctl.sim.station_base import ConnectionOptions, LifecycleStation, StationIdentity

__all__ = [
    "EV_MODELS",
    "ConnectionLostError",
    "ConnectionOptions",
    "EvModel",
    "LifecycleStation",
    "NotConnectedError",
    "PeerCallError",
    "ReceivedCall",
    "ReplyScript",
    "SimError",
    "SimStation16",
    "SimStation201",
    "StationIdentity",
    "StubCsms",
    "SubprotocolMismatchError",
    "build_fleet",
    "run_fleet",
    "run_station_life",
]
