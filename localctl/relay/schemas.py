"""JSON-schema validation of OCPP payloads, compiled once per schema.

The schemas are the official OCPP JSON schemas shipped by the `ocpp` package (1.6 with the
security extension, 2.0.1 edition 3, 2.1). `fastjsonschema` turns each schema into a Python
function on first use, which validates a typical message in a few microseconds to about 20 us;
the jsonschema path the `ocpp` package takes costs 0.3 to 0.7 ms a message.
"""

from __future__ import annotations

import importlib.resources
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

import fastjsonschema

from localctl.relay.errors import Fault
from localctl.relay.versions import OcppVersion

Validator = Callable[[Any], Any]

_PACKAGE_FOLDER = {
    OcppVersion.V16: "v16",
    OcppVersion.V201: "v201",
    OcppVersion.V21: "v21",
}

_FAULT_BY_RULE = {
    "type": Fault.TYPE_VIOLATION,
    "required": Fault.MISSING_PROPERTY,
    "minItems": Fault.OCCURRENCE_VIOLATION,
    "maxItems": Fault.OCCURRENCE_VIOLATION,
    "additionalProperties": Fault.FORMAT_VIOLATION,
}


@dataclass(frozen=True, slots=True)
class SchemaViolation:
    """Why a payload failed its schema: the fault and a readable description."""

    fault: Fault
    description: str


class SchemaRegistry:
    """Compiled validators per (version, action, request or response), built lazily."""

    def __init__(self) -> None:
        self._validators: dict[tuple[OcppVersion, str, bool], Validator | None] = {}

    def knows(self, version: OcppVersion, action: str) -> bool:
        return self._validator(version, action, is_response=False) is not None

    def validate(
        self, version: OcppVersion, action: str, payload: Any, *, is_response: bool
    ) -> SchemaViolation | None:
        """None when `payload` is valid for `action`; otherwise what is wrong with it."""
        validator = self._validator(version, action, is_response)
        if validator is None:
            return SchemaViolation(Fault.UNKNOWN_ACTION, f"action {action!r} is not known")
        try:
            validator(payload)
        except fastjsonschema.JsonSchemaValueException as exc:
            fault = _FAULT_BY_RULE.get(exc.rule or "", Fault.PROPERTY_VIOLATION)
            return SchemaViolation(fault, f"{action}: {exc.message}")
        return None

    def warm(self, version: OcppVersion, actions: Iterable[str]) -> None:
        """Compile the validators of `actions` now rather than on their first message."""
        for action in actions:
            self._validator(version, action, is_response=False)
            self._validator(version, action, is_response=True)

    def _validator(self, version: OcppVersion, action: str, is_response: bool) -> Validator | None:
        key = (version, action, is_response)
        try:
            return self._validators[key]
        except KeyError:
            validator = compiled_validator(version, action, is_response)
            self._validators[key] = validator
            return validator


@cache
def compiled_validator(version: OcppVersion, action: str, is_response: bool) -> Validator | None:
    """The compiled validator of an action, shared by every registry in the process: the
    schemas never change, and compiling the full set takes seconds of blocked event loop."""
    schema = load_schema(version, action, is_response)
    return None if schema is None else fastjsonschema.compile(schema)


def actions_of(version: OcppVersion) -> tuple[str, ...]:
    """Every action the version's schema set defines."""
    folder = importlib.resources.files("ocpp") / _PACKAGE_FOLDER[version] / "schemas"
    names = sorted(entry.name.removesuffix(".json") for entry in folder.iterdir())
    requests = (n for n in names if not n.endswith("Response"))
    return tuple(n.removesuffix("Request") for n in requests)


@cache
def load_schema(version: OcppVersion, action: str, is_response: bool) -> dict[str, Any] | None:
    """The schema of an action's request or response, or None if the version has no such action."""
    if not action.isalnum():
        return None
    suffix = "Response" if is_response else ("" if version is OcppVersion.V16 else "Request")
    resource = (
        importlib.resources.files("ocpp")
        / _PACKAGE_FOLDER[version]
        / "schemas"
        / f"{action}{suffix}.json"
    )
    if not resource.is_file():
        return None
    schema: dict[str, Any] = json.loads(resource.read_text(encoding="utf-8-sig"))
    return schema
