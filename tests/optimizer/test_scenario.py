"""Scenario documents: defaults, phase names, later steps, and allocations as JSON data."""

from __future__ import annotations

import json

import pytest

from optimizer import InvalidInputError, allocate
from optimizer.scenario import allocation_to_dict, parse_scenario, phase_index, run_scenario

DOCUMENT = {
    "site": {
        "nodes": [
            {"node_id": "main", "limits": [{"source": "fuse", "max_current_a": [20, 20, 20]}]}
        ],
        "evses": [
            {"evse_id": "a", "node_id": "main", "phase_map": ["L3"]},
            {"evse_id": "b", "node_id": "main"},
        ],
    },
    "sessions": [{"evse_id": "a"}],
    "then": [
        {"now_s": 10},
        {"now_s": 20, "sessions": [{"evse_id": "a"}, {"evse_id": "b", "arrival_s": 20}]},
    ],
}


def test_defaults_fill_what_a_document_leaves_out() -> None:
    scenario = parse_scenario(DOCUMENT)
    a = scenario.site.evses[0]
    assert (a.phase_map, a.min_current_a, a.max_current_a, a.current_step_a) == (
        (2,),
        6.0,
        32.0,
        None,
    )
    assert scenario.site.evses[1].phase_map == (0, 1, 2)
    assert scenario.steps[0].now_s == 0.0
    assert scenario.options.method == "fast"


def test_later_steps_keep_the_sessions_unless_they_give_new_ones() -> None:
    scenario = parse_scenario(DOCUMENT)
    assert [len(step.sessions) for step in scenario.steps] == [1, 1, 2]
    allocations = run_scenario(scenario)
    assert [a.evse("a").limit_a for a in allocations] == [20.0, 20.0, 10.0]


def test_an_allocation_becomes_plain_json_data_with_named_phases() -> None:
    scenario = parse_scenario(DOCUMENT)
    allocation = allocate(scenario.site, scenario.steps[0].sessions, 0.0)
    document = allocation_to_dict(allocation)
    assert json.loads(json.dumps(document)) == document
    assert document["evses"][0]["grid_current_a"] == {"L1": 0.0, "L2": 0.0, "L3": 20.0}
    assert document["nodes"][0]["headroom_a"] == {"L1": 20.0, "L2": 20.0, "L3": 0.0}
    assert document["state"][0]["limit_a"] == 20.0


def test_an_unknown_phase_name_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="L4"):
        phase_index("L4")
