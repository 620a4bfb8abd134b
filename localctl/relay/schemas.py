"""JSON-schema validation of OCPP payloads, compiled once per schema.

The schemas are the official OCPP JSON schemas shipped by the `ocpp` package (1.6 with the
security extension, 2.0.1 edition 3, 2.1). `jsonschema-rs` compiles each schema once (Rust) and
validates a 1.1 kB 2.0.1 MeterValues in about 3 us; `fastjsonschema`'s generated Python took
20 to 50 us for the same message (its enum checks scan lists), which made validation the
largest cost of relaying meter values, and the jsonschema path the `ocpp` package takes costs
0.3 to 0.7 ms a message.
"""

from __future__ import annotations

import importlib.resources
import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

import jsonschema_rs

from localctl.relay.errors import Fault
from localctl.relay.versions import OcppVersion

Validator = jsonschema_rs.Validator

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
        if validator.is_valid(payload):  # the fast path: no error object is built
            return None
        error = next(validator.iter_errors(payload))
        rule = str(error.schema_path[-1]) if error.schema_path else ""
        fault = _FAULT_BY_RULE.get(rule, Fault.PROPERTY_VIOLATION)
        where = "/".join(str(part) for part in error.instance_path)
        return SchemaViolation(fault, f"{action}: {where or 'payload'}: {error.message}")

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
    if schema is None:
        return None
    # Formats as fastjsonschema checked them before: a timestamp must be an RFC 3339 date-time.
    return jsonschema_rs.validator_for(schema, validate_formats=True)


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
