from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from localctl.relay.events import FrameRelayed, Side
from localctl.relay.frames import Call, MessageType
from localctl.relay.offline import Answer, OfflineResponder, Persist, Refuse
from localctl.relay.schemas import SchemaRegistry
from localctl.relay.versions import OcppVersion

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
V16, V201 = OcppVersion.V16, OcppVersion.V201


def call(action: str, payload: dict[str, Any], message_id: str = "m1") -> Call:
    return Call(message_id, action, payload)


def seen(
    responder: OfflineResponder, action: str, request: dict[str, Any], answer: dict[str, Any]
) -> None:
    responder.observe(FrameRelayed(Side.STATION, MessageType.CALL, action, "x", request))
    responder.observe(FrameRelayed(Side.CSMS, MessageType.CALLRESULT, action, "x", answer))


def answered(
    responder: OfflineResponder, schemas: SchemaRegistry, action: str, payload: dict[str, Any]
) -> dict[str, Any]:
    decision = responder.decide(call(action, payload), NOW)
    assert isinstance(decision, Answer), decision
    assert schemas.validate(responder.version, action, decision.payload, is_response=True) is None
    return decision.payload


def test_tokens_the_csms_accepted_or_blocked_are_answered_the_same_offline(
    schemas: SchemaRegistry,
) -> None:
    responder = OfflineResponder(V16)
    seen(responder, "Authorize", {"idTag": "GOOD"}, {"idTagInfo": {"status": "Accepted"}})
    seen(responder, "Authorize", {"idTag": "BAD"}, {"idTagInfo": {"status": "Blocked"}})
    assert answered(responder, schemas, "Authorize", {"idTag": "GOOD"}) == {
        "idTagInfo": {"status": "Accepted"}
    }
    assert answered(responder, schemas, "Authorize", {"idTag": "BAD"}) == {
        "idTagInfo": {"status": "Blocked"}
    }
    assert answered(responder, schemas, "Authorize", {"idTag": "NEW"}) == {
        "idTagInfo": {"status": "Invalid"}
    }


def test_unknown_tokens_follow_the_configured_policy_in_201(schemas: SchemaRegistry) -> None:
    token = {"idToken": {"idToken": "NEW", "type": "ISO14443"}}
    strict = OfflineResponder(V201)
    lenient = OfflineResponder(V201, unknown_token_policy="accept")
    assert answered(strict, schemas, "Authorize", token) == {"idTokenInfo": {"status": "Unknown"}}
    assert answered(lenient, schemas, "Authorize", token) == {"idTokenInfo": {"status": "Accepted"}}


def test_heartbeat_boot_and_notifications_are_answered_with_the_last_known_interval(
    schemas: SchemaRegistry,
) -> None:
    responder = OfflineResponder(V16)
    seen(
        responder,
        "BootNotification",
        {},
        {"status": "Accepted", "currentTime": "x", "interval": 45},
    )
    boot = answered(
        responder, schemas, "BootNotification", {"chargePointVendor": "V", "chargePointModel": "M"}
    )
    assert (boot["status"], boot["interval"]) == ("Accepted", 45)
    assert answered(responder, schemas, "Heartbeat", {}) == {"currentTime": "2026-11-22T10:00:00Z"}
    status = {"connectorId": 1, "errorCode": "NoError", "status": "Charging"}
    assert answered(responder, schemas, "StatusNotification", status) == {}


@pytest.mark.parametrize(
    ("version", "action", "local_id"),
    [
        (V16, "StartTransaction", True),
        (V16, "StopTransaction", False),
        (V16, "MeterValues", False),
        (V201, "TransactionEvent", False),
        (V201, "MeterValues", False),
    ],
)
def test_transaction_messages_are_persisted_before_they_are_answered(
    version: OcppVersion, action: str, local_id: bool
) -> None:
    decision = OfflineResponder(version).decide(call(action, {}), NOW)
    assert isinstance(decision, Persist) and decision.needs_local_transaction_id is local_id


def test_answers_after_persisting_carry_the_local_transaction_id_and_token_status(
    schemas: SchemaRegistry,
) -> None:
    responder = OfflineResponder(V16, accepted_tokens=frozenset({"TAG"}))
    start = call(
        "StartTransaction", {"connectorId": 1, "idTag": "TAG", "meterStart": 0, "timestamp": "t"}
    )
    answer = responder.answer_after_persist(start, local_transaction_id=-7)
    assert answer == {"idTagInfo": {"status": "Accepted"}, "transactionId": -7}
    assert schemas.validate(V16, "StartTransaction", answer, is_response=True) is None
    responder_201 = OfflineResponder(V201)
    event = call("TransactionEvent", {"idToken": {"idToken": "X", "type": "ISO14443"}})
    assert responder_201.answer_after_persist(event, None) == {"idTokenInfo": {"status": "Unknown"}}


def test_what_needs_the_csms_is_refused_with_a_callerror() -> None:
    decision = OfflineResponder(V201).decide(call("Get15118EVCertificate", {}), NOW)
    assert isinstance(decision, Refuse) and decision.error_code == "InternalError"
