"""Energy by departure: the receding-horizon plan as sharing weights, and phase mixes."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from optimizer import (
    Evse,
    InvalidInputError,
    Node,
    NodeLimit,
    Options,
    PhaseMix,
    Session,
    Site,
    allocate,
)
from optimizer.horizon import blocks, periods_left
from tests.optimizer.checks import lower_class_overreach, overloads
from tests.optimizer.strategies import instances, sites
from tests.optimizer.test_allocate import SETTINGS

HORIZON = Options(fairness="horizon", period_s=300.0)


def _bus(amps: float, count: int, *mixes: PhaseMix) -> Site:
    limits = (NodeLimit("fuse", (amps, amps, amps), mixes=mixes),)
    evses = tuple(Evse(f"e{i}", "bus", phase_map=(i % 3,), min_current_a=0.0) for i in range(count))
    return Site((Node("bus", limits=limits),), evses)


def test_blocks_double_after_the_first_periods_and_cover_the_stay() -> None:
    assert blocks(20).tolist() == [1] * 12 + [2, 2, 4]
    assert sum(blocks(288).tolist()) >= 288
    assert periods_left(None, 0.0, 300.0, 3600.0) == 12
    assert periods_left(650.0, 0.0, 300.0, 3600.0) == 3


def test_the_session_leaving_first_gets_the_shared_phase_first() -> None:
    sessions = [
        Session("e0", 0.0, 1, departure_s=3600.0, energy_needed_wh=16 * 230.0),
        Session("e3", 0.0, 1, departure_s=4 * 3600.0, energy_needed_wh=16 * 230.0),
    ]
    allocation = allocate(_bus(20.0, 4), sessions, 0.0, HORIZON)
    assert allocation.evse("e0").limit_a > 16.0
    assert allocation.evse("e0").limit_a + allocation.evse("e3").limit_a == pytest.approx(20.0)


@SETTINGS
@given(sites(max_evses=8), st.integers(0, 2**16), st.integers(2, 4))
def test_horizon_sharing_keeps_every_limit_and_treats_identical_sessions_alike(
    the_site: Site, seed: int, copies: int
) -> None:
    first = the_site.evses[0]
    # Minimum 0: admission of semi-continuous minimums may rightly split identical twins.
    twins = tuple(
        Evse(f"t{k}", first.node_id, first.phase_map, 0.0, first.max_current_a)
        for k in range(copies)
    )
    site = Site(the_site.nodes, the_site.evses + twins)
    sessions = [
        Session(e.evse_id, 0.0, 1, departure_s=600.0 + seed % 7 * 900.0, energy_needed_wh=9e3)
        for e in site.evses
    ]
    allocation = allocate(site, sessions, 0.0, HORIZON)
    assert overloads(site, allocation) == []
    assert len({allocation.evse(t.evse_id).limit_a for t in twins}) == 1


@SETTINGS
@given(instances(), st.integers(0, 2**16))
def test_horizon_sharing_never_gives_a_lower_class_what_a_higher_class_needed(
    case: tuple[Site, list[Session]], seed: int
) -> None:
    site, sessions = case
    planned = [
        dataclasses.replace(s, departure_s=300.0 * (1 + (seed + k) % 9), energy_needed_wh=8e3)
        for k, s in enumerate(sessions)
    ]
    allocation = allocate(site, planned, 0.0, HORIZON)
    assert overloads(site, allocation) == []
    assert lower_class_overreach(site, planned, allocation) == []


def test_a_phase_mix_is_a_row_of_its_own_kept_exactly_and_named() -> None:
    site = _bus(32.0, 2, PhaseMix((1.0, 0.5, 0.0), 20.0))
    allocation = allocate(site, [Session("e0", 0.0, 1), Session("e1", 0.0, 1)], 0.0)
    l1, l2 = allocation.evse("e0").limit_a, allocation.evse("e1").limit_a
    assert l1 + 0.5 * l2 <= 20.0
    assert l1 + 0.5 * l2 > 19.8
    assert allocation.evse("e0").bound_by == "node:bus:mix0:fuse"


def test_a_phase_mix_needs_non_negative_weights() -> None:
    with pytest.raises(InvalidInputError, match="mix"):
        PhaseMix((1.0, -0.1, 0.0), 10.0)
