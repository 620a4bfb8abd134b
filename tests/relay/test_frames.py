from __future__ import annotations

import orjson
import pytest

from localctl.relay.errors import Fault, PeerProtocolError, error_code_for
from localctl.relay.frames import (
    Call,
    CallError,
    CallResult,
    MessageType,
    encode_call,
    encode_call_error,
    parse_frame,
)
from localctl.relay.versions import OcppVersion

V16, V201, V21 = OcppVersion.V16, OcppVersion.V201, OcppVersion.V21


def test_call_result_and_error_are_parsed() -> None:
    assert parse_frame('[2,"a","Heartbeat",{}]', V16) == Call("a", "Heartbeat", {})
    assert parse_frame('[3,"a",{"currentTime":"x"}]', V16) == CallResult("a", {"currentTime": "x"})
    assert parse_frame('[4,"a","NotSupported","no",{}]', V201) == CallError(
        "a", "NotSupported", "no", {}
    )


def test_ocpp21_send_and_callresulterror_are_parsed_only_in_21() -> None:
    send = parse_frame('[6,"a","NotifyPeriodicEventStream",{}]', V21)
    assert isinstance(send, Call) and send.message_type is MessageType.SEND
    with pytest.raises(PeerProtocolError) as caught:
        parse_frame('[6,"a","NotifyPeriodicEventStream",{}]', V201)
    assert caught.value.fault is Fault.UNKNOWN_MESSAGE_TYPE
    assert caught.value.message_id == "a"


@pytest.mark.parametrize(
    ("text", "fault", "message_id"),
    [
        ("not json", Fault.NOT_JSON, None),
        ('{"a": 1}', Fault.NOT_RPC_FRAME, None),
        ("[]", Fault.NOT_RPC_FRAME, None),
        ("[2]", Fault.MESSAGE_ID_UNREADABLE, None),
        ('[2, 17, "Heartbeat", {}]', Fault.MESSAGE_ID_UNREADABLE, None),
        ('[2, "' + "x" * 37 + '", "Heartbeat", {}]', Fault.MESSAGE_ID_UNREADABLE, None),
        ('[9, "m1", "Heartbeat", {}]', Fault.UNKNOWN_MESSAGE_TYPE, "m1"),
        ('[true, "m1", "Heartbeat", {}]', Fault.UNKNOWN_MESSAGE_TYPE, "m1"),
        ('[2, "m1", "Heartbeat"]', Fault.NOT_RPC_FRAME, "m1"),
        ('[2, "m1", 5, {}]', Fault.NOT_RPC_FRAME, "m1"),
        ('[2, "m1", "Heartbeat", []]', Fault.PAYLOAD_NOT_OBJECT, "m1"),
        ('[3, "m1", "text"]', Fault.PAYLOAD_NOT_OBJECT, "m1"),
        ('[4, "m1", 1, "d", {}]', Fault.NOT_RPC_FRAME, "m1"),
    ],
)
def test_malformed_frames_name_the_fault_and_keep_the_id(
    text: str, fault: Fault, message_id: str | None
) -> None:
    with pytest.raises(PeerProtocolError) as caught:
        parse_frame(text, V201)
    assert caught.value.fault is fault
    assert caught.value.message_id == message_id


def test_malformed_reply_carries_its_message_type() -> None:
    with pytest.raises(PeerProtocolError) as caught:
        parse_frame('[3, "m1", "text"]', V16)
    assert caught.value.message_type == MessageType.CALLRESULT


def test_error_codes_follow_each_version() -> None:
    assert error_code_for(Fault.NOT_JSON, V16) == "FormatViolation"  # 1.6 errata spelling
    assert error_code_for(Fault.NOT_JSON, V201) == "RpcFrameworkError"
    assert error_code_for(Fault.UNKNOWN_MESSAGE_TYPE, V201) == "MessageTypeNotSupported"
    assert error_code_for(Fault.UNKNOWN_MESSAGE_TYPE, V16) == "GenericError"
    assert error_code_for(Fault.TYPE_VIOLATION, V16) == "TypeConstraintViolation"
    assert error_code_for(Fault.MISSING_PROPERTY, V16) == "ProtocolError"  # "incomplete"
    assert error_code_for(Fault.MISSING_PROPERTY, V201) == "OccurrenceConstraintViolation"


def test_encoded_frames_parse_back() -> None:
    assert parse_frame(encode_call("x", "Heartbeat", {}), V16) == Call("x", "Heartbeat", {})
    error = orjson.loads(encode_call_error("x", "GenericError", "d" * 400))
    assert error[:3] == [4, "x", "GenericError"]
    assert len(error[3]) == 255
    assert error[4] == {}
