"""explain(): the limit, the constraint that bound it, and what else was in play, in words."""

from __future__ import annotations

from optimizer import Session, allocate
from optimizer.explain import explain
from tests.optimizer.site_builders import evse, fuse, site

PAIR = site(fuse("main", 32.0), evses=(evse("fleet"), evse("visitor", phase_map=(1, 2, 0))))


def test_a_cap_of_the_vehicle_is_named_in_plain_words() -> None:
    sessions = [Session("fleet", 0.0, ev_max_current_a=10.0), Session("visitor", 0.0)]
    text = explain(PAIR, sessions, allocate(PAIR, sessions, 0.0), "fleet")
    assert "10 A per phase on 3 phase(s)" in text
    assert "Bound by ev_max: the vehicle's maximum current." in text
    assert "EV max 10 A" in text


def test_priority_holding_is_explained() -> None:
    sessions = [Session("fleet", 0.0, priority=1), Session("visitor", 0.0)]
    text = explain(PAIR, sessions, allocate(PAIR, sessions, 0.0), "visitor")
    assert "Bound by priority" in text
    assert "wired L1->grid L2, L2->grid L3, L3->grid L1" in text


def test_an_evse_without_a_vehicle_says_so() -> None:
    sessions = [Session("fleet", 0.0)]
    text = explain(PAIR, sessions, allocate(PAIR, sessions, 0.0), "visitor")
    assert "No vehicle is plugged in" in text
