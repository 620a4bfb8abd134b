"""Golden scenarios: every tests/scenarios/NNN-what-it-shows.json gives its expected result."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import fastjsonschema
import pytest

from optimizer.cli import read_scenario, read_schema
from optimizer.scenario import run_scenario

SCENARIOS = sorted((Path(__file__).parent.parent / "scenarios").glob("*.json"))


def test_there_are_at_least_25_golden_scenarios_with_expectations() -> None:
    assert len(SCENARIOS) >= 25
    for path in SCENARIOS:
        assert "expected" in json.loads(path.read_text())


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_golden_scenario_is_valid_against_the_shipped_schema(path: Path) -> None:
    fastjsonschema.validate(read_schema(), json.loads(path.read_text()))


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_golden_scenario_gives_its_expected_allocation(path: Path) -> None:
    scenario = read_scenario(path)
    for step, allocation in zip(scenario.steps, run_scenario(scenario), strict=True):
        for evse_id, expected in step.expected.items():
            got = allocation.evse(evse_id)
            where = f"{path.stem} at {step.now_s} s, {evse_id}"
            assert got.limit_a == pytest.approx(expected.limit_a, abs=1e-9), where
            if expected.bound_by is not None:
                assert got.bound_by == expected.bound_by, where
            if expected.phases is not None:
                assert got.phases == expected.phases, where


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_golden_scenario_limits_are_the_same_with_the_exact_method(path: Path) -> None:
    scenario = read_scenario(path)
    exact = dataclasses.replace(
        scenario, options=dataclasses.replace(scenario.options, method="exact")
    )
    for step, allocation in zip(exact.steps, run_scenario(exact), strict=True):
        for evse_id, expected in step.expected.items():
            assert allocation.evse(evse_id).limit_a == pytest.approx(expected.limit_a, abs=1e-9)
