"""The fallback plan: floors that hold for every combination of sessions and phases."""

from __future__ import annotations

import itertools

from hypothesis import given, settings

from optimizer import Evse, FallbackPlan, Node, NodeLimit, Site, fallback_plan
from tests.optimizer.checks import subtree_of
from tests.optimizer.site_builders import evse, fuse, site
from tests.optimizer.strategies import sites


def phase_choices(charger: Evse) -> list[tuple[int, ...]]:
    """Every way a vehicle can load this EVSE: off, or its first 1, 2 or 3 conductors."""
    return [(), *(charger.phase_map[:count] for count in range(1, charger.phase_count + 1))]


def exceeded(site: Site, plan: FallbackPlan, in_use: dict[str, tuple[int, ...]]) -> list[str]:
    found = []
    for node in site.nodes:
        below = subtree_of(site, node.node_id)
        load = list(node.non_ev_load_a)
        for other in site.nodes:
            if other.node_id in below and other is not node:
                load = [a + b for a, b in zip(load, other.non_ev_load_a, strict=True)]
        for charger in site.evses:
            if charger.node_id in below:
                for phase in in_use[charger.evse_id]:
                    load[phase] += plan.floor(charger.evse_id).floor_a
        for limit in node.limits:
            if limit.max_current_a is not None:
                found += [
                    f"{node.node_id}:L{p + 1}"
                    for p in range(3)
                    if load[p] > limit.max_current_a[p] + 1e-9
                ]
            if limit.max_power_w is not None and sum(load) * 230.0 > limit.max_power_w + 1e-6:
                found.append(f"{node.node_id}:power")
    return found


@settings(max_examples=60, deadline=None)
@given(sites(max_evses=4))
def test_the_fallback_plan_holds_under_every_combination_of_sessions_and_phases(
    the_site: Site,
) -> None:
    plan = fallback_plan(the_site)
    options = [phase_choices(charger) for charger in the_site.evses]
    for combination in itertools.product(*options):
        in_use = {c.evse_id: p for c, p in zip(the_site.evses, combination, strict=True)}
        assert exceeded(the_site, plan, in_use) == [], in_use


def test_two_three_phase_evses_on_a_32_a_fuse_get_16_a_floors() -> None:
    plan = fallback_plan(site(fuse("main", 32.0), evses=(evse("a"), evse("b"))))
    assert [f.floor_a for f in plan.floors] == [16.0, 16.0]
    assert plan.floor("a").bound_by == "node:main:L1:fuse"
    assert plan.nodes[0].reserved_a == (32.0, 32.0, 32.0)
    assert plan.total_floor_a == 96.0


def test_single_phase_evses_on_different_phases_do_not_share_a_floor() -> None:
    plan = fallback_plan(
        site(
            fuse("main", 20.0),
            evses=(evse("a", phase_map=(0,)), evse("b", phase_map=(1,)), evse("c", max_a=16.0)),
        )
    )
    assert plan.floor("c").floor_a == 10.0
    assert plan.floor("a").floor_a == 10.0
    assert plan.nodes[0].headroom_a == (0.0, 0.0, 10.0)


def test_a_floor_below_the_minimum_is_flagged_because_the_vehicle_would_pause() -> None:
    plan = fallback_plan(
        site(fuse("main", 16.0), evses=tuple(evse(f"e{k}", phase_map=(0,)) for k in range(4)))
    )
    assert {f.floor_a for f in plan.floors} == {4.0}
    assert all(f.below_minimum for f in plan.floors)


def test_floors_respect_a_power_limit_and_the_non_ev_load() -> None:
    node = Node(
        "main",
        limits=(NodeLimit("fuse", (63.0, 63.0, 63.0)), NodeLimit("ems", max_power_w=13_800.0)),
        non_ev_load_a=(10.0, 10.0, 10.0),
    )
    plan = fallback_plan(Site((node,), (evse("a"), evse("b"))))
    # 13 800 W / 230 V = 60 phase-amps, minus 30 A of other load: 30 over six conductors.
    assert [f.floor_a for f in plan.floors] == [5.0, 5.0]
    assert plan.floor("a").bound_by == "node:main:power:ems"
