"""The electrical side of the site without sockets: wiring, subtrees, base loads."""

from __future__ import annotations

import pytest

from localctl.config.site import SiteConfig
from localctl.sim.base_load import constant_base_load
from localctl.sim.errors import SimError
from localctl.sim.ev import Ev, EvSpec
from localctl.sim.site_model import SiteModel

SITE = SiteConfig.model_validate(
    {
        "nodes": [
            {"id": "main", "kind": "grid_connection", "fuse_a": 63},
            {"id": "sub", "kind": "sub_distribution", "parent": "main", "fuse_a": 40},
            {"id": "leaf", "kind": "circuit", "parent": "sub", "fuse_a": 20},
        ],
        "evses": [
            {"id": "rotated", "node": "leaf", "wiring": ["L3", "L1", "L2"]},
            {"id": "single", "node": "main", "phases": 1, "wiring": ["L2"]},
        ],
    }
)
SEDAN = EvSpec("sedan", phases=3, max_current_a=16.0)


def ev(spec: EvSpec = SEDAN) -> Ev:
    return Ev(spec, reaction_delay_s=0.5)


def test_an_evse_loads_its_node_and_every_node_above_on_its_wired_phases() -> None:
    model = SiteModel(SITE, {})
    model.plug("rotated", ev(EvSpec("van", phases=1, max_current_a=16.0)))
    model.step({"rotated": 10.0}, 1.0)
    currents = model.node_currents_a(1.0)
    assert currents["leaf"] == currents["sub"] == currents["main"] == (0.0, 0.0, 10.0)


def test_a_three_phase_car_on_a_single_phase_evse_draws_on_its_one_conductor() -> None:
    model = SiteModel(SITE, {})
    model.plug("single", ev())
    model.step({"single": 16.0}, 1.0)
    assert model.evses["single"].drawn_a == (16.0,)
    assert model.node_currents_a(1.0)["main"] == (0.0, 16.0, 0.0)


def test_base_load_of_a_node_adds_to_it_and_its_ancestors_only() -> None:
    model = SiteModel(SITE, {"sub": constant_base_load((1.0, 2.0, 3.0))})
    currents = model.node_currents_a(0.0)
    assert (currents["leaf"], currents["sub"], currents["main"]) == (
        (0.0, 0.0, 0.0),
        (1.0, 2.0, 3.0),
        (1.0, 2.0, 3.0),
    )


def test_an_evse_without_an_offer_draws_nothing_and_unplugging_clears_it() -> None:
    model = SiteModel(SITE, {})
    model.plug("rotated", ev())
    model.step({}, 1.0)
    assert model.evses["rotated"].drawn_a == (0.0, 0.0, 0.0)
    model.step({"rotated": 16.0}, 1.0)
    assert model.evses["rotated"].energy_wh == pytest.approx(3 * 16.0 * 230.0 / 3600.0)
    unplugged = model.unplug("rotated")
    assert unplugged is not None and unplugged.energy_wh > 0
    assert model.node_currents_a(2.0)["main"] == (0.0, 0.0, 0.0)


def test_plugging_twice_or_loading_unknown_nodes_is_refused() -> None:
    model = SiteModel(SITE, {})
    model.plug("single", ev())
    with pytest.raises(SimError, match="already"):
        model.plug("single", ev())
    with pytest.raises(SimError, match="unknown"):
        SiteModel(SITE, {"nowhere": constant_base_load((1.0, 1.0, 1.0))})
