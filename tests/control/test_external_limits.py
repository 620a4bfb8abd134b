from __future__ import annotations

from localctl.control.external_limits import external_limit_changes

W = 1000.0


def test_a_new_limit_is_notified_and_a_released_one_cleared() -> None:
    started = external_limit_changes({}, {"main": (11 * W, None)}, 0.1)
    assert [(c.node_id, c.kind, c.power_w) for c in started] == [("main", "notify", 11 * W)]
    released = external_limit_changes({"main": (11 * W, None)}, {}, 0.1)
    assert [(c.node_id, c.kind) for c in released] == [("main", "cleared")]


def test_only_significant_changes_are_notified_again() -> None:
    before = {"main": (10 * W, (16.0, 16.0, 16.0))}
    assert external_limit_changes(before, {"main": (10.9 * W, (16.0, 16.0, 16.0))}, 0.1) == []
    assert len(external_limit_changes(before, {"main": (11.1 * W, (16.0, 16.0, 16.0))}, 0.1)) == 1
    assert len(external_limit_changes(before, {"main": (10 * W, (16.0, 12.0, 16.0))}, 0.1)) == 1
    assert len(external_limit_changes(before, {"main": (None, (16.0, 16.0, 16.0))}, 0.1)) == 1
