from __future__ import annotations

import pytest

from localctl.config.site import SiteConfig
from localctl.sim.overload import OverloadTracker


def test_within_the_fuse_nothing_is_counted() -> None:
    tracker = OverloadTracker({"main": (63.0, 63.0, 63.0)})
    tracker.observe({"main": (63.0, 10.0, 0.0)}, 1.0)
    assert (tracker.longest_run_s, tracker.total_excess_as) == (0.0, 0.0)
    assert tracker.summary() == "no overload"


def test_time_excess_and_longest_continuous_run_per_phase() -> None:
    tracker = OverloadTracker({"main": (63.0, 63.0, 63.0), "sub": (40.0, 40.0, 40.0)})
    for l2_a in (65.0, 66.0, 60.0, 70.0):
        tracker.observe({"main": (10.0, l2_a, 10.0)}, 0.5)
    l2 = tracker.phase("main", "L2")
    assert l2.seconds_over_s == 1.5
    assert l2.excess_as == pytest.approx((2.0 + 3.0 + 7.0) * 0.5)
    assert (l2.peak_excess_a, l2.longest_run_s, l2.run_s) == (7.0, 1.0, 0.5)
    assert tracker.phase("sub", "L2").seconds_over_s == 0.0
    assert tracker.elapsed_s == 2.0
    assert [s.key for s in tracker.beyond(0.9)] == ["main:L2"]
    assert tracker.beyond(1.0) == []
    assert "main:L2: 1.5 s over 63 A" in tracker.summary()


def test_tolerance_ignores_small_excursions() -> None:
    tracker = OverloadTracker({"main": (63.0, 63.0, 63.0)}, tolerance_a=1.0)
    tracker.observe({"main": (63.9, 64.5, 63.0)}, 1.0)
    assert tracker.phase("main", "L1").seconds_over_s == 0.0
    assert tracker.phase("main", "L2").excess_as == pytest.approx(1.5)


def test_tracker_for_a_site_follows_every_fused_node() -> None:
    site = SiteConfig.model_validate(
        {
            "nodes": [
                {"id": "main", "kind": "grid_connection", "fuse_a": [63, 50, 63]},
                {"id": "pv", "kind": "circuit", "parent": "main", "power_limit_w": 5000},
            ]
        }
    )
    tracker = OverloadTracker.for_site(site)
    assert tracker.node_ids == ("main",)
    assert tracker.phase("main", "L2").fuse_a == 50.0
