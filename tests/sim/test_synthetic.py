from __future__ import annotations

import random

from localctl.sim.site import SimSite
from localctl.sim.site_meters import sdm630_meter_ports
from localctl.sim.synthetic import synthetic_config


def test_synthetic_site_has_the_evses_stations_and_rotated_wiring_asked_for() -> None:
    config = synthetic_config(5, single_phase_every=5, meter_port=15021)
    assert config.site is not None
    wirings = [evse.grid_phases for evse in config.site.evses]
    assert wirings[:3] == [("L1", "L2", "L3"), ("L2", "L3", "L1"), ("L3", "L1", "L2")]
    assert wirings[4] == ("L2",)
    assert [dict(s.evses) for s in config.stations] == [
        {1: "evse-0001", 2: "evse-0002"},
        {1: "evse-0003", 2: "evse-0004"},
        {1: "evse-0005"},
    ]
    assert sdm630_meter_ports(config) == {"main": 15021}


def test_a_large_synthetic_site_builds_without_connecting() -> None:
    site = SimSite(synthetic_config(500), "ws://127.0.0.1:9", rng=random.Random(1))
    assert len(site.stations) == 250
    assert len(site.model.evses) == 500
