"""The EMS limit contract, sans I/O: one payload in, an accepted limit or the reasons out.

Rules (docs/mqtt.md has the user's version):
- the payload is a JSON object; unknown keys, wrong types, NaN, infinity and negative numbers
  are rejected, never coerced ("16" is not 16, true is not 1);
- `power_w` (total over the phases) and/or `current_a` (three per-phase values); both apply;
- exactly one of `ttl_s` (from reception) and `valid_until` (ISO 8601 with a UTC offset);
  a retained message may not use `ttl_s`, since its age is unknown and an old limit would
  be renewed on every reconnect;
- the validity is shortened to the configured maximum; a `valid_until` already past is
  rejected;
- `source` names the sender; the node must be one the configuration lets an EMS limit.

`parse_ems_limit` never raises on what the peer sent: every problem becomes an `EmsRejected`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

import orjson
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import ErrorDetails

from localctl.inputs.readings import EmsLimit

NonNegativeFinite = Annotated[float, Field(ge=0)]

PAYLOAD_FIELD = "(payload)"
"""The field name used for problems with the payload as a whole."""


class EmsLimitPayload(BaseModel):
    """The JSON object an EMS publishes; strict: no coercion, no NaN or infinity."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)

    power_w: NonNegativeFinite | None = Field(None, description="total active power limit (W)")
    current_a: tuple[NonNegativeFinite, NonNegativeFinite, NonNegativeFinite] | None = Field(
        None, description="per-phase current limit for L1, L2, L3 (A)"
    )
    ttl_s: float | None = Field(None, gt=0, description="validity from reception (s)")
    valid_until: AwareDatetime | None = Field(None, description="end of validity (ISO 8601)")
    source: str = Field(min_length=1, max_length=64, description="label of the sender")


@dataclass(frozen=True, slots=True)
class FieldProblem:
    field: str
    problem: str


@dataclass(frozen=True, slots=True)
class EmsAccepted:
    limit: EmsLimit
    ttl_s: float
    """the validity granted from reception, after capping (s)"""
    capped: bool
    valid_until_wall_s: float

    def state_payload(self) -> bytes:
        """What `<base>/ems/state/<node>` says: the limit in force and until when."""
        current = self.limit.current_a
        return orjson.dumps(
            {
                "node_id": self.limit.node_id,
                "source": self.limit.source,
                "power_w": self.limit.power_w,
                "current_a": None if current is None else list(current),
                "ttl_s": self.ttl_s,
                "capped": self.capped,
                "valid_until": iso_utc(self.valid_until_wall_s),
                "accepted_at": iso_utc(self.limit.wall_time_s),
            }
        )


@dataclass(frozen=True, slots=True)
class EmsRejected:
    node_id: str
    problems: tuple[FieldProblem, ...]

    def description(self) -> str:
        return "; ".join(f"{p.field}: {p.problem}" for p in self.problems)

    def error_payload(self, topic: str, wall_time_s: float) -> bytes:
        """What `<base>/ems/error` says: which message, and what was wrong with which field."""
        return orjson.dumps(
            {
                "topic": topic,
                "node_id": self.node_id,
                "errors": [{"field": p.field, "problem": p.problem} for p in self.problems],
                "rejected_at": iso_utc(wall_time_s),
            }
        )


@dataclass(frozen=True, slots=True)
class EmsRules:
    allowed_node_ids: frozenset[str]
    max_ttl_s: float


def iso_utc(wall_time_s: float) -> str:
    text = datetime.fromtimestamp(wall_time_s, UTC).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


def parse_ems_limit(
    node_id: str,
    payload: bytes,
    *,
    retained: bool,
    rules: EmsRules,
    monotonic_s: float,
    wall_time_s: float,
) -> EmsAccepted | EmsRejected:
    """Validate one EMS message for `node_id`, received at the given clock readings."""
    if node_id not in rules.allowed_node_ids:
        allowed = ", ".join(sorted(rules.allowed_node_ids))
        return _reject(node_id, "node_id", f"unknown node {node_id!r} (allowed: {allowed})")
    try:
        parsed = EmsLimitPayload.model_validate_json(payload)
    except ValidationError as error:
        return EmsRejected(node_id, tuple(_problem(e) for e in error.errors()))
    problems = _combination_problems(parsed, retained)
    if problems:
        return EmsRejected(node_id, problems)
    requested_ttl_s = _requested_ttl_s(parsed, wall_time_s)
    if requested_ttl_s <= 0:
        return _reject(node_id, "valid_until", "already past")
    ttl_s = min(requested_ttl_s, rules.max_ttl_s)
    limit = EmsLimit(
        source=parsed.source,
        node_id=node_id,
        power_w=parsed.power_w,
        current_a=parsed.current_a,
        valid_until_monotonic_s=monotonic_s + ttl_s,
        received_monotonic_s=monotonic_s,
        wall_time_s=wall_time_s,
    )
    return EmsAccepted(limit, ttl_s, ttl_s < requested_ttl_s, wall_time_s + ttl_s)


def _combination_problems(parsed: EmsLimitPayload, retained: bool) -> tuple[FieldProblem, ...]:
    problems: list[FieldProblem] = []
    if parsed.power_w is None and parsed.current_a is None:
        problems.append(FieldProblem("power_w", "give power_w or current_a (or both)"))
    if (parsed.ttl_s is None) == (parsed.valid_until is None):
        problems.append(FieldProblem("ttl_s", "give exactly one of ttl_s and valid_until"))
    elif parsed.ttl_s is not None and retained:
        problems.append(
            FieldProblem(
                "ttl_s",
                "not allowed in a retained message (its age is unknown): use valid_until "
                "or publish without retain",
            )
        )
    return tuple(problems)


def _requested_ttl_s(parsed: EmsLimitPayload, wall_time_s: float) -> float:
    if parsed.ttl_s is not None:
        return parsed.ttl_s
    assert parsed.valid_until is not None  # checked by _combination_problems
    return parsed.valid_until.timestamp() - wall_time_s


def _reject(node_id: str, field: str, problem: str) -> EmsRejected:
    return EmsRejected(node_id, (FieldProblem(field, problem),))


# pydantic's error types, in the words of this contract (others keep pydantic's message)
_PROBLEMS = {
    "extra_forbidden": "unknown key",
    "missing": "required",
    "finite_number": "must be a finite number (NaN and infinity are not allowed)",
    "greater_than_equal": "must not be negative",
    "greater_than": "must be greater than 0",
    "float_type": "must be a JSON number",
    "string_type": "must be a JSON string",
    "tuple_type": "must be a list of three numbers (L1, L2, L3)",
    "too_long": "must be a list of three numbers (L1, L2, L3)",
    "model_type": "must be a JSON object",
    "timezone_aware": "must carry a UTC offset, e.g. 2026-01-01T12:00:00Z",
}


def _problem(error: ErrorDetails) -> FieldProblem:
    location = error["loc"]
    field = ".".join(str(part) for part in location) if location else PAYLOAD_FIELD
    kind = error["type"]
    if kind == "missing" and len(location) == 2 and location[0] == "current_a":
        return FieldProblem("current_a", _PROBLEMS["tuple_type"])
    problem = _PROBLEMS.get(kind, error["msg"])
    if kind not in ("missing", "extra_forbidden", "json_invalid") and "input" in error:
        problem += f" (got {_short(error['input'])})"
    return FieldProblem(field, problem)


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
