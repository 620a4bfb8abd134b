"""python -m optimizer: solve prints JSON, explain prints reasons, bad input exits 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from optimizer.cli import main

SCENARIOS = Path(__file__).parent.parent / "scenarios"
NESTED = SCENARIOS / "006-nested-bottleneck.json"


def test_solve_prints_the_allocation_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["solve", str(NESTED)]) == 0
    document = json.loads(capsys.readouterr().out)
    limits = {e["evse_id"]: e["limit_a"] for e in document["evses"]}
    assert limits == {"x": 8.0, "y": 8.0, "z": 24.0}
    assert document["nodes"][0]["headroom_a"] == {"L1": 0.0, "L2": 0.0, "L3": 0.0}


def test_solve_with_several_steps_prints_one_allocation_per_step(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["solve", str(SCENARIOS / "011-admission-rotates-over-time.json")]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 4


def test_solve_can_use_the_exact_method(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["solve", str(NESTED), "--method", "exact"]) == 0
    assert json.loads(capsys.readouterr().out)["method"] == "exact"


def test_explain_names_the_binding_fuse_and_who_shares_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["explain", str(NESTED), "z"]) == 0
    text = capsys.readouterr().out
    assert "Bound by node:main:L1:fuse" in text
    assert "3 session(s): x 8 A, y 8 A, z 24 A" in text


def test_explain_says_why_a_session_was_not_admitted(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", str(SCENARIOS / "010-minimum-current-admission.json"), "c"]) == 0
    text = capsys.readouterr().out
    assert "minimum of 6 A did not fit" in text
    assert "node main L1 has 0 A left" in text


def test_fallback_prints_the_floors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fallback", str(NESTED)]) == 0
    floors = {f["evse_id"]: f["floor_a"] for f in json.loads(capsys.readouterr().out)["floors"]}
    assert floors == {"x": 8.0, "y": 8.0, "z": 24.0}


def test_an_invalid_scenario_is_refused_with_the_file_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"site": {"nodes": [], "evses": []}, "sessions": [{"evse": "a"}]}))
    assert main(["solve", str(bad)]) == 2
    error = capsys.readouterr().err
    assert str(bad) in error
    assert "sessions" in error


def test_an_unknown_evse_to_explain_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", str(NESTED), "ghost"]) == 2
    assert "ghost" in capsys.readouterr().err


def test_the_module_runs_as_a_program() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "optimizer", "solve", str(NESTED)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(done.stdout)["evses"][2]["limit_a"] == 24.0
