from __future__ import annotations

import json

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from localctl.inputs.mqtt.ems_contract import (
    EmsAccepted,
    EmsRejected,
    EmsRules,
    FieldProblem,
    parse_ems_limit,
)

RULES = EmsRules(frozenset({"main", "sub-a"}), max_ttl_s=600.0)
NOW_MONOTONIC_S = 5000.0
NOW_WALL_S = 1_800_000_000.0  # 2027-01-15T08:00:00Z


def parse(
    payload: bytes | dict[str, object], *, node_id: str = "main", retained: bool = False
) -> EmsAccepted | EmsRejected:
    raw = payload if isinstance(payload, bytes) else orjson.dumps(payload)
    return parse_ems_limit(
        node_id,
        raw,
        retained=retained,
        rules=RULES,
        monotonic_s=NOW_MONOTONIC_S,
        wall_time_s=NOW_WALL_S,
    )


def accepted(payload: bytes | dict[str, object], *, retained: bool = False) -> EmsAccepted:
    result = parse(payload, retained=retained)
    assert isinstance(result, EmsAccepted), result
    return result


def problems(payload: bytes | dict[str, object], *, retained: bool = False) -> dict[str, str]:
    result = parse(payload, retained=retained)
    assert isinstance(result, EmsRejected), result
    return {p.field: p.problem for p in result.problems}


def test_power_limit_with_ttl_is_accepted_until_reception_plus_ttl() -> None:
    result = accepted({"power_w": 11000, "ttl_s": 60, "source": "ems-x"})
    limit = result.limit
    assert (limit.node_id, limit.source, limit.power_w, limit.current_a) == (
        "main",
        "ems-x",
        11000.0,
        None,
    )
    assert limit.valid_until_monotonic_s == NOW_MONOTONIC_S + 60
    assert (limit.received_monotonic_s, limit.wall_time_s) == (NOW_MONOTONIC_S, NOW_WALL_S)
    assert (result.ttl_s, result.capped) == (60, False)


def test_per_phase_current_limit_is_accepted() -> None:
    limit = accepted({"current_a": [16, 10.5, 0], "ttl_s": 30, "source": "e"}).limit
    assert (limit.power_w, limit.current_a) == (None, (16.0, 10.5, 0.0))


def test_power_and_current_together_both_apply() -> None:
    limit = accepted({"power_w": 7000, "current_a": [16, 16, 16], "ttl_s": 30, "source": "e"})
    assert (limit.limit.power_w, limit.limit.current_a) == (7000.0, (16.0, 16.0, 16.0))


def test_valid_until_is_converted_to_the_monotonic_clock() -> None:
    payload = {"power_w": 1, "valid_until": "2027-01-15T08:02:00Z", "source": "e"}
    result = accepted(payload)
    assert result.limit.valid_until_monotonic_s == pytest.approx(NOW_MONOTONIC_S + 120)
    assert result.ttl_s == pytest.approx(120)


def test_valid_until_with_another_offset_means_the_same_instant() -> None:
    payload = {"power_w": 1, "valid_until": "2027-01-15T09:02:00+01:00", "source": "e"}
    assert accepted(payload).ttl_s == pytest.approx(120)


def test_long_ttl_is_capped_at_the_configured_maximum() -> None:
    result = accepted({"power_w": 1, "ttl_s": 86400, "source": "e"})
    assert (result.ttl_s, result.capped) == (600, True)
    assert result.limit.valid_until_monotonic_s == NOW_MONOTONIC_S + 600


def test_far_valid_until_is_capped_too() -> None:
    result = accepted({"power_w": 1, "valid_until": "2099-01-01T00:00:00Z", "source": "e"})
    assert (result.ttl_s, result.capped) == (600, True)


def test_state_payload_says_what_was_accepted_and_until_when() -> None:
    state = orjson.loads(
        accepted({"current_a": [16, 16, 16], "ttl_s": 60, "source": "e"}).state_payload()
    )
    assert state == {
        "node_id": "main",
        "source": "e",
        "power_w": None,
        "current_a": [16.0, 16.0, 16.0],
        "ttl_s": 60,
        "capped": False,
        "valid_until": "2027-01-15T08:01:00.000Z",
        "accepted_at": "2027-01-15T08:00:00.000Z",
    }


@pytest.mark.parametrize(
    ("payload", "field", "words"),
    [
        (b"{not json", "(payload)", "Invalid JSON"),
        (b"", "(payload)", "Invalid JSON"),
        (b"[16, 16, 16]", "(payload)", "must be a JSON object"),
        (b'{"power_w": "11000", "ttl_s": 60, "source": "e"}', "power_w", "must be a JSON number"),
        (b'{"power_w": true, "ttl_s": 60, "source": "e"}', "power_w", "must be a JSON number"),
        (b'{"power_w": NaN, "ttl_s": 60, "source": "e"}', "power_w", "finite"),
        (b'{"power_w": Infinity, "ttl_s": 60, "source": "e"}', "power_w", "finite"),
        (b'{"power_w": 1e999, "ttl_s": 60, "source": "e"}', "power_w", "finite"),
        (
            b'{"current_a": [16, -Infinity, 16], "ttl_s": 60, "source": "e"}',
            "current_a.1",
            "finite",
        ),
        (b'{"power_w": -1, "ttl_s": 60, "source": "e"}', "power_w", "must not be negative"),
        (b'{"current_a": [16, -6, 16], "ttl_s": 60, "source": "e"}', "current_a.1", "negative"),
        (b'{"current_a": [16, 16], "ttl_s": 60, "source": "e"}', "current_a", "three numbers"),
        (b'{"current_a": 16, "ttl_s": 60, "source": "e"}', "current_a", "three numbers"),
        (b'{"power_w": 1, "ttl_s": 0, "source": "e"}', "ttl_s", "greater than 0"),
        (b'{"power_w": 1, "ttl_s": -5, "source": "e"}', "ttl_s", "greater than 0"),
        (b'{"power_w": 1, "ttl_s": 60}', "source", "required"),
        (b'{"power_w": 1, "ttl_s": 60, "source": ""}', "source", "at least 1"),
        (b'{"power_w": 1, "ttl_s": 60, "source": 7}', "source", "JSON string"),
        (b'{"power_w": 1, "ttl_s": 60, "source": "e", "priority": 1}', "priority", "unknown key"),
        (b'{"ttl_s": 60, "source": "e"}', "power_w", "power_w or current_a"),
        (b'{"power_w": 1, "source": "e"}', "ttl_s", "exactly one of ttl_s and valid_until"),
        (
            b'{"power_w": 1, "ttl_s": 9, "valid_until": "2099-01-01T00:00:00Z", "source": "e"}',
            "ttl_s",
            "exactly one",
        ),
        (
            b'{"power_w": 1, "valid_until": "2027-01-15T08:02:00", "source": "e"}',
            "valid_until",
            "UTC offset",
        ),
        (b'{"power_w": 1, "valid_until": "soon", "source": "e"}', "valid_until", "datetime"),
        (
            b'{"power_w": 1, "valid_until": "2027-01-15T07:59:00Z", "source": "e"}',
            "valid_until",
            "already past",
        ),
    ],
)
def test_bad_payload_is_rejected_naming_the_field_and_the_problem(
    payload: bytes, field: str, words: str
) -> None:
    found = problems(payload)
    assert field in found, found
    assert words in found[field]


def test_rejection_echoes_the_offending_value() -> None:
    assert "(got -1)" in problems({"power_w": -1, "ttl_s": 60, "source": "e"})["power_w"]
    assert "(got nan)" in problems(b'{"power_w": NaN, "ttl_s": 60, "source": "e"}')["power_w"]


def test_every_problem_of_a_payload_is_reported_at_once() -> None:
    found = problems({"power_w": -1, "ttl_s": "60", "extra": 1})
    assert set(found) == {"power_w", "ttl_s", "source", "extra"}


def test_unknown_node_is_rejected_before_the_payload_is_read() -> None:
    result = parse({"power_w": 1, "ttl_s": 60, "source": "e"}, node_id="garage")
    assert isinstance(result, EmsRejected)
    assert result.problems == (
        FieldProblem("node_id", "unknown node 'garage' (allowed: main, sub-a)"),
    )


def test_retained_message_may_not_use_ttl() -> None:
    found = problems({"power_w": 1, "ttl_s": 60, "source": "e"}, retained=True)
    assert "retained" in found["ttl_s"]


def test_retained_message_with_valid_until_is_accepted() -> None:
    payload = {"power_w": 1, "valid_until": "2027-01-15T08:02:00Z", "source": "e"}
    assert accepted(payload, retained=True).ttl_s == pytest.approx(120)


def test_error_payload_names_topic_node_and_problems() -> None:
    result = parse({"power_w": -1, "ttl_s": 60, "source": "e"})
    assert isinstance(result, EmsRejected)
    error = orjson.loads(result.error_payload("localctl/ems/limit/main", NOW_WALL_S))
    assert error == {
        "topic": "localctl/ems/limit/main",
        "node_id": "main",
        "errors": [{"field": "power_w", "problem": "must not be negative (got -1)"}],
        "rejected_at": "2027-01-15T08:00:00.000Z",
    }


json_values = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=12,
)
keys = st.sampled_from(["power_w", "current_a", "ttl_s", "valid_until", "source", "x"])


@given(st.binary(max_size=200))
def test_any_bytes_give_a_result_never_an_exception(payload: bytes) -> None:
    assert isinstance(parse(payload), EmsAccepted | EmsRejected)


@given(st.dictionaries(keys, json_values), st.booleans())
def test_any_json_object_gives_a_sound_result(document: dict[str, object], retained: bool) -> None:
    # json, not orjson: it writes NaN and Infinity literals, as a careless sender would
    result = parse(json.dumps(document).encode(), retained=retained)
    if isinstance(result, EmsAccepted):
        limit = result.limit
        assert limit.power_w is not None or limit.current_a is not None
        values = [limit.power_w or 0.0, *(limit.current_a or ())]
        assert all(v >= 0 and v != float("inf") for v in values)
        assert 0 < result.ttl_s <= RULES.max_ttl_s
    else:
        assert result.problems
