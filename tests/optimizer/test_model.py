"""Input validation: malformed values are refused at construction, with the reason."""

from __future__ import annotations

import pytest

from optimizer import (
    AllocatorState,
    Evse,
    EvseState,
    InvalidInputError,
    Node,
    NodeLimit,
    Options,
    Session,
)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: NodeLimit("fu:se"), "non-empty word"),
        (lambda: NodeLimit("fuse", (10.0, -1.0, 10.0)), "negative current"),
        (lambda: NodeLimit("ems", max_power_w=-5.0), "negative power"),
        (lambda: Node("a:b"), "without ':'"),
        (lambda: Node("a", nominal_voltage_v=0.0), "voltage"),
        (lambda: Evse("e", "a", phase_map=(0, 1)), "phase_map"),
        (lambda: Evse("e", "a", phase_map=(3,)), "phases are 0, 1, 2"),
        (lambda: Evse("e", "a", min_current_a=10.0, max_current_a=6.0), "min <= max"),
        (lambda: Evse("e", "a", current_step_a=0.0), "current step"),
        (lambda: Session("e", 0.0, phases_in_use=4), "phases_in_use"),
        (lambda: Session("e", 0.0, energy_needed_wh=-1.0), "negative energy"),
        (lambda: Options(method="magic"), "unknown method"),  # type: ignore[arg-type]
        (lambda: Options(fairness="random"), "unknown fairness"),  # type: ignore[arg-type]
    ],
)
def test_malformed_input_is_refused_with_a_reason(build: object, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        build()  # type: ignore[operator]


def test_the_state_finds_an_evse_by_id() -> None:
    entry = EvseState("e", 0.0, 6.0, 0.0, None, 0.0)
    assert AllocatorState((entry,)).get("e") == entry
    assert AllocatorState((entry,)).get("other") is None
