from __future__ import annotations

from localctl.control.compliance import ComplianceTracker


def test_drawing_over_the_limit_past_the_reaction_window_is_flagged_and_cleared_when_obeying() -> (
    None
):
    tracker = ComplianceTracker(tolerance_a=1.0, reaction_window_s=10.0)
    tracker.observe_draw(0.0, {"a": 16.0}, {"a": 16.9})
    tracker.observe_draw(1.0, {"a": 10.0}, {"a": 16.0})  # the limit just went down
    tracker.observe_draw(10.9, {"a": 10.0}, {"a": 15.0})
    assert tracker.flagged == {}
    tracker.observe_draw(11.0, {"a": 10.0}, {"a": 15.0})
    assert tracker.flagged["a"].reason == "draws 15.0 A over its 10.0 A limit"
    assert tracker.flagged["a"].since_s == 1.0
    tracker.observe_draw(12.0, {"a": 10.0}, {"a": 10.5})
    assert tracker.flagged == {}


def test_a_station_rejecting_profiles_stays_flagged_until_it_accepts() -> None:
    tracker = ComplianceTracker(tolerance_a=1.0, reaction_window_s=10.0)
    tracker.profile_answer(5.0, ["a", "b"], accepted=False)
    assert set(tracker.flagged) == {"a", "b"} and tracker.refuses_profiles("a")
    tracker.observe_draw(6.0, {"a": 10.0}, {"a": 0.0})
    assert "a" in tracker.flagged  # obeying by chance does not clear a refusal
    tracker.profile_answer(7.0, ["a"], accepted=True)
    assert set(tracker.flagged) == {"b"} and not tracker.refuses_profiles("a")
