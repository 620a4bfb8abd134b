from __future__ import annotations

import itertools

import orjson
import pytest

from localctl.relay.errors import LocalProtocolError
from localctl.relay.events import (
    FrameRelayed,
    HandlerFailed,
    Outgoing,
    OwnCallAnswered,
    OwnCallFailed,
    PeerFaulted,
    RelayedCallTimedOut,
    ReplyUnmatched,
    SchemaViolated,
    Side,
)
from localctl.relay.frames import MessageType
from localctl.relay.policy import TRANSPARENT, LocalAnswer, Policy, Route
from localctl.relay.schemas import SchemaRegistry
from localctl.relay.session import RelaySession, SessionOptions, own_message_id
from localctl.relay.versions import OcppVersion

STATION, CSMS = Side.STATION, Side.CSMS
HEARTBEAT = '[2,"st-1","Heartbeat",{}]'
HEARTBEAT_ANSWER = '[3,"st-1",{"currentTime":"2026-01-01T00:00:00Z"}]'
GET_CONFIG = '[2,"cs-1","GetConfiguration",{"key":["HeartbeatInterval"]}]'
GET_CONFIG_ANSWER = '[3,"cs-1",{"configurationKey":[]}]'


def make_session(
    schemas: SchemaRegistry,
    version: OcppVersion = OcppVersion.V16,
    *,
    strict: bool = False,
    policy: Policy | None = None,
) -> RelaySession:
    ids = (f"lc-{n}" for n in itertools.count(1))
    return RelaySession(
        "CP-1",
        version,
        schemas,
        options=SessionOptions(strict=strict, relayed_call_timeout_s=30, own_call_timeout_s=10),
        new_message_id=lambda: next(ids),
        policy=policy or TRANSPARENT,
    )


def sent(session: RelaySession) -> list[tuple[Side, list[object]]]:
    return [(o.destination, orjson.loads(o.text)) for o in session.data_to_send()]


def test_station_call_and_csms_answer_are_relayed_unchanged(schemas: SchemaRegistry) -> None:
    session = make_session(schemas)
    odd_spacing = '[2, "st-1",  "Heartbeat", { }]'
    session.receive(STATION, odd_spacing, 0.0)
    assert session.data_to_send() == [Outgoing(CSMS, odd_spacing)]
    session.receive(CSMS, HEARTBEAT_ANSWER, 0.1)
    assert session.data_to_send() == [Outgoing(STATION, HEARTBEAT_ANSWER)]
    relayed = [e for e in session.events() if isinstance(e, FrameRelayed)]
    assert [(e.source, e.message_type, e.action) for e in relayed] == [
        (STATION, MessageType.CALL, "Heartbeat"),
        (CSMS, MessageType.CALLRESULT, "Heartbeat"),
    ]


def test_a_second_station_call_waits_for_the_first_answer(schemas: SchemaRegistry) -> None:
    session = make_session(schemas)
    session.receive(STATION, HEARTBEAT, 0.0)
    session.receive(STATION, '[2,"st-2","Heartbeat",{}]', 0.0)
    assert [frame[1] for _, frame in sent(session)] == ["st-1"]
    session.receive(CSMS, HEARTBEAT_ANSWER, 0.2)
    assert sent(session) == [
        (STATION, orjson.loads(HEARTBEAT_ANSWER)),
        (CSMS, [2, "st-2", "Heartbeat", {}]),
    ]


def test_own_call_waits_behind_a_csms_call_and_its_reply_is_consumed(
    schemas: SchemaRegistry,
) -> None:
    session = make_session(schemas)
    session.receive(CSMS, GET_CONFIG, 0.0)
    own_id = session.send_own_call("GetConfiguration", {}, 0.0)
    assert [frame[1] for _, frame in sent(session)] == ["cs-1"]
    session.receive(STATION, GET_CONFIG_ANSWER, 0.1)
    assert sent(session) == [
        (CSMS, orjson.loads(GET_CONFIG_ANSWER)),
        (STATION, [2, own_id, "GetConfiguration", {}]),
    ]
    session.receive(STATION, f'[3,"{own_id}",{{"configurationKey":[]}}]', 0.2)
    assert session.data_to_send() == []  # never forwarded upstream (part 4, 6.4)
    assert OwnCallAnswered(own_id, "GetConfiguration", {"configurationKey": []}) in session.events()


def test_csms_call_waits_behind_an_own_call_in_flight(schemas: SchemaRegistry) -> None:
    session = make_session(schemas)
    own_id = session.send_own_call("GetConfiguration", {}, 0.0)
    session.receive(CSMS, GET_CONFIG, 0.0)
    assert [frame[1] for _, frame in sent(session)] == [own_id]
    session.receive(STATION, f'[4,"{own_id}","NotSupported","no",{{}}]', 0.1)
    assert [frame[1] for _, frame in sent(session)] == ["cs-1"]
    failed = [e for e in session.events() if isinstance(e, OwnCallFailed)]
    assert failed == [OwnCallFailed(own_id, "GetConfiguration", "NotSupported", "no")]


def test_own_message_ids_are_uuids_that_fit_ocpp() -> None:
    ids = {own_message_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(len(i) <= 36 and i.startswith("lc-") for i in ids)


def test_an_invalid_own_call_is_a_local_error(schemas: SchemaRegistry) -> None:
    session = make_session(schemas)
    with pytest.raises(LocalProtocolError):
        session.send_own_call("ChangeConfiguration", {"key": 5}, 0.0)


def test_schema_violation_is_relayed_and_counted_by_default(schemas: SchemaRegistry) -> None:
    session = make_session(schemas)
    bad = '[2,"st-1","StatusNotification",{"connectorId":"one"}]'
    session.receive(STATION, bad, 0.0)
    assert session.data_to_send() == [Outgoing(CSMS, bad)]
    assert session.stats.schema_violations[STATION] == 1
    violations = [e for e in session.events() if isinstance(e, SchemaViolated)]
    assert len(violations) == 1 and violations[0].relayed


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        (
            '{"connectorId":"one","errorCode":"NoError","status":"Available"}',
            "TypeConstraintViolation",
        ),
        ('{"connectorId":1}', "ProtocolError"),
        (
            '{"connectorId":1,"errorCode":"NoError","status":"Sleepy"}',
            "PropertyConstraintViolation",
        ),
    ],
)
def test_strict_mode_answers_schema_violations_with_the_right_callerror(
    schemas: SchemaRegistry, payload: str, code: str
) -> None:
    session = make_session(schemas, strict=True)
    session.receive(STATION, f'[2,"st-1","StatusNotification",{payload}]', 0.0)
    [(destination, frame)] = sent(session)
    assert destination is STATION
    assert frame[:3] == [4, "st-1", code]


def test_strict_mode_answers_unknown_actions_with_not_implemented(schemas: SchemaRegistry) -> None:
    session = make_session(schemas, OcppVersion.V201, strict=True)
    session.receive(CSMS, '[2,"cs-9","MakeCoffee",{}]', 0.0)
    assert sent(session) == [
        (CSMS, [4, "cs-9", "NotImplemented", "action 'MakeCoffee' is not known", {}])
    ]


def test_strict_mode_turns_an_invalid_answer_into_a_callerror(schemas: SchemaRegistry) -> None:
    session = make_session(schemas, strict=True)
    session.receive(CSMS, GET_CONFIG, 0.0)
    session.data_to_send()
    session.receive(STATION, '[3,"cs-1",{"configurationKey":"all"}]', 0.1)
    [(destination, frame)] = sent(session)
    assert destination is CSMS and frame[:3] == [4, "cs-1", "TypeConstraintViolation"]


@pytest.mark.parametrize(
    ("version", "code"),
    [(OcppVersion.V16, "FormatViolation"), (OcppVersion.V201, "RpcFrameworkError")],
)
def test_unparseable_frame_gets_a_callerror_and_the_session_goes_on(
    schemas: SchemaRegistry, version: OcppVersion, code: str
) -> None:
    session = make_session(schemas, version)
    session.receive(STATION, "[2, 'single quotes'", 0.0)
    [(destination, frame)] = sent(session)
    assert destination is STATION and frame[:3] == [4, "-1", code]
    assert any(isinstance(e, PeerFaulted) and e.answered for e in session.events())
    session.receive(STATION, HEARTBEAT, 0.1)
    assert sent(session) == [(CSMS, orjson.loads(HEARTBEAT))]


def test_a_reply_with_an_unknown_id_is_dropped(schemas: SchemaRegistry) -> None:
    session = make_session(schemas)
    session.receive(CSMS, HEARTBEAT_ANSWER, 0.0)
    assert session.data_to_send() == []
    assert session.events() == [ReplyUnmatched(CSMS, "st-1")]


def test_a_relayed_call_times_out_and_a_late_reply_still_reaches_the_caller(
    schemas: SchemaRegistry,
) -> None:
    session = make_session(schemas)
    session.receive(CSMS, GET_CONFIG, 0.0)
    session.receive(CSMS, '[2,"cs-2","GetConfiguration",{}]', 1.0)
    session.data_to_send()
    assert session.next_deadline_s() == 30.0
    session.tick(29.9)
    assert session.data_to_send() == []
    session.tick(30.0)
    assert [frame[1] for _, frame in sent(session)] == ["cs-2"]
    assert RelayedCallTimedOut(CSMS, "GetConfiguration", "cs-1") in session.events()
    session.receive(STATION, GET_CONFIG_ANSWER, 31.0)
    assert sent(session) == [(CSMS, orjson.loads(GET_CONFIG_ANSWER))]


def test_an_own_call_times_out_as_a_failure(schemas: SchemaRegistry) -> None:
    session = make_session(schemas)
    own_id = session.send_own_call("Reset", {"type": "Soft"}, 0.0)
    session.tick(10.0)
    failed = [e for e in session.events() if isinstance(e, OwnCallFailed)]
    assert [(e.message_id, e.error_code) for e in failed] == [(own_id, "Timeout")]


def test_a_malformed_reply_settles_its_call_and_reaches_the_caller(schemas: SchemaRegistry) -> None:
    session = make_session(schemas)
    session.receive(CSMS, GET_CONFIG, 0.0)
    session.receive(CSMS, '[2,"cs-2","GetConfiguration",{}]', 0.0)
    session.data_to_send()
    session.receive(STATION, '[3,"cs-1","oops"]', 0.1)
    assert sent(session) == [
        (CSMS, [3, "cs-1", "oops"]),
        (STATION, [2, "cs-2", "GetConfiguration", {}]),
    ]


def test_queued_own_calls_with_one_key_coalesce(schemas: SchemaRegistry) -> None:
    session = make_session(schemas)
    session.receive(CSMS, GET_CONFIG, 0.0)
    first = session.send_own_call("ClearCache", {}, 0.0, coalesce_key="k")
    second = session.send_own_call("ClearCache", {}, 0.0, coalesce_key="k")
    superseded = [e for e in session.events() if isinstance(e, OwnCallFailed)]
    assert [(e.message_id, e.error_code) for e in superseded] == [(first, "Superseded")]
    session.data_to_send()
    session.receive(STATION, GET_CONFIG_ANSWER, 0.1)
    assert [frame[1] for _, frame in sent(session)] == ["cs-1", second]


def test_lost_connection_fails_every_own_call(schemas: SchemaRegistry) -> None:
    session = make_session(schemas)
    ids = [session.send_own_call("ClearCache", {}, 0.0) for _ in range(3)]
    session.connection_lost()
    failed = [e.message_id for e in session.events() if isinstance(e, OwnCallFailed)]
    assert failed == ids


def test_a_local_route_answers_without_forwarding(schemas: SchemaRegistry) -> None:
    policy = Policy(
        from_station={"Heartbeat": Route.ANSWER_LOCALLY},
        handlers={(STATION, "Heartbeat"): lambda call: LocalAnswer({"currentTime": "now"})},
    )
    session = make_session(schemas, policy=policy)
    session.receive(STATION, HEARTBEAT, 0.0)
    assert sent(session) == [(STATION, [3, "st-1", {"currentTime": "now"}])]


def test_own_calls_can_go_upstream_too(schemas: SchemaRegistry) -> None:
    session = make_session(schemas)
    own_id = session.send_own_call("Heartbeat", {}, 0.0, destination=CSMS)
    assert sent(session) == [(CSMS, [2, own_id, "Heartbeat", {}])]
    session.receive(CSMS, f'[3,"{own_id}",{{"currentTime":"x"}}]', 0.1)
    assert session.data_to_send() == []


def test_a_failing_local_handler_answers_internal_error_and_the_session_goes_on(
    schemas: SchemaRegistry,
) -> None:
    def broken(call: object) -> LocalAnswer:
        raise KeyError("bug")

    policy = Policy(
        from_station={"Heartbeat": Route.ANSWER_LOCALLY}, handlers={(STATION, "Heartbeat"): broken}
    )
    session = make_session(schemas, policy=policy)
    session.receive(STATION, HEARTBEAT, 0.0)
    [(destination, frame)] = sent(session)
    assert destination is STATION and frame[:3] == [4, "st-1", "InternalError"]
    assert any(isinstance(e, HandlerFailed) for e in session.events())
    session.receive(STATION, '[2,"st-2","Authorize",{"idTag":"x"}]', 0.1)
    assert [frame[2] for _, frame in sent(session)] == ["Authorize"]


def test_a_rewrite_route_relays_the_new_payload_under_the_same_id(schemas: SchemaRegistry) -> None:
    def lower_stack(call: object) -> dict[str, object] | None:
        return {"key": "HeartbeatInterval", "value": "600"}

    policy = Policy(
        from_csms={"ChangeConfiguration": Route.REWRITE},
        rewriters={(CSMS, "ChangeConfiguration"): lower_stack},
    )
    session = make_session(schemas, policy=policy)
    session.receive(
        CSMS, '[2,"cs-1","ChangeConfiguration",{"key":"HeartbeatInterval","value":"60"}]', 0.0
    )
    assert sent(session) == [
        (STATION, [2, "cs-1", "ChangeConfiguration", {"key": "HeartbeatInterval", "value": "600"}])
    ]
    session.receive(STATION, '[3,"cs-1",{"status":"Accepted"}]', 0.1)
    assert sent(session) == [(CSMS, [3, "cs-1", {"status": "Accepted"}])]
    relayed = [e for e in session.events() if isinstance(e, FrameRelayed)]
    assert relayed[0].payload == {"key": "HeartbeatInterval", "value": "600"}
