"""Command line: the only module of the package that reads files or prints.

python -m optimizer solve SCENARIO.json [--method fast|exact]
python -m optimizer explain SCENARIO.json EVSE_ID
python -m optimizer fallback SCENARIO.json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import fastjsonschema

from optimizer.errors import InvalidInputError
from optimizer.explain import explain
from optimizer.fallback import fallback_plan
from optimizer.scenario import Scenario, allocation_to_dict, parse_scenario, run_scenario


def read_schema() -> dict[str, Any]:
    """The scenario JSON Schema shipped with the package."""
    text = resources.files("optimizer").joinpath("scenario.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def read_scenario(path: Path) -> Scenario:
    """Load, validate against the schema and parse. Errors name the file and the field."""
    try:
        document = json.loads(path.read_text("utf-8"))
        fastjsonschema.validate(read_schema(), document)
    except json.JSONDecodeError as error:
        raise InvalidInputError(f"{path}: not JSON: {error}") from error
    except fastjsonschema.JsonSchemaValueException as error:
        raise InvalidInputError(f"{path}: {error.message}") from error
    try:
        return parse_scenario(document)
    except InvalidInputError as error:
        raise InvalidInputError(f"{path}: {error}") from error


def main(argv: Sequence[str] | None = None) -> int:
    arguments = _parser().parse_args(argv)
    try:
        scenario = read_scenario(Path(arguments.scenario))
        if getattr(arguments, "method", None):
            options = dataclasses.replace(scenario.options, method=arguments.method)
            scenario = dataclasses.replace(scenario, options=options)
        output = _run(arguments, scenario)
    except InvalidInputError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(output)
    return 0


def _run(arguments: argparse.Namespace, scenario: Scenario) -> str:
    if arguments.command == "fallback":
        plan = fallback_plan(scenario.site, scenario.options)
        return json.dumps(dataclasses.asdict(plan), indent=2)
    allocations = run_scenario(scenario)
    if arguments.command == "solve":
        documents = [allocation_to_dict(a) for a in allocations]
        return json.dumps(documents[0] if len(documents) == 1 else documents, indent=2)
    if arguments.evse_id not in {e.evse_id for e in scenario.site.evses}:
        raise InvalidInputError(f"no EVSE {arguments.evse_id!r} in the scenario")
    last = scenario.steps[-1]
    return explain(scenario.site, last.sessions, allocations[-1], arguments.evse_id)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m optimizer", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    solve = commands.add_parser("solve", help="print the allocation as JSON")
    solve.add_argument("scenario")
    solve.add_argument("--method", choices=("fast", "exact"))
    why = commands.add_parser("explain", help="say why an EVSE got what it got")
    why.add_argument("scenario")
    why.add_argument("evse_id")
    floors = commands.add_parser("fallback", help="print the fallback plan as JSON")
    floors.add_argument("scenario")
    return parser
