from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from localctl.model.events import SessionStarted
from localctl.model.translator import StationTranslator
from localctl.relay.events import FrameRelayed, Side
from localctl.relay.frames import MessageType
from localctl.relay.schemas import SchemaRegistry, actions_of
from localctl.relay.session import RelaySession
from localctl.relay.versions import OcppVersion
from tests.model.fuzzing import PAYLOADS, mutated
from tests.model.relayed import relayed

V16 = OcppVersion.V16
V201 = OcppVersion.V201
ACTIONS = {version: actions_of(version) for version in (OcppVersion.V16, OcppVersion.V201)}


TEMPLATES: dict[tuple[OcppVersion, str], tuple[Any, Any]] = {
    (V16, "StartTransaction"): (
        {"connectorId": 1, "idTag": "A", "meterStart": 5, "timestamp": "2026-03-01T10:00:00Z"},
        {"idTagInfo": {"status": "Accepted"}, "transactionId": 7},
    ),
    (V16, "StopTransaction"): (
        {
            "transactionId": 7,
            "meterStop": 9,
            "timestamp": "2026-03-01T11:00:00Z",
            "transactionData": [
                {"timestamp": "2026-03-01T11:00:00Z", "sampledValue": [{"value": "9"}]}
            ],
        },
        {},
    ),
    (V16, "MeterValues"): (
        {
            "connectorId": 1,
            "transactionId": 7,
            "meterValue": [
                {
                    "timestamp": "2026-03-01T10:00:00Z",
                    "sampledValue": [
                        {
                            "value": "16.0",
                            "measurand": "Current.Import",
                            "phase": "L2",
                            "unit": "A",
                        },
                        {"value": "7.4", "measurand": "Power.Active.Import", "unit": "kW"},
                    ],
                }
            ],
        },
        {},
    ),
    (V201, "TransactionEvent"): (
        {
            "eventType": "Started",
            "timestamp": "2026-03-01T10:00:00Z",
            "triggerReason": "Authorized",
            "seqNo": 0,
            "transactionInfo": {"transactionId": "t1", "chargingState": "Charging"},
            "evse": {"id": 1, "connectorId": 1},
            "idToken": {"idToken": "A", "type": "Central"},
            "meterValue": [
                {
                    "timestamp": "2026-03-01T10:00:00Z",
                    "sampledValue": [
                        {"value": 1.5, "unitOfMeasure": {"unit": "kWh", "multiplier": 0}},
                        {"value": 6.0, "measurand": "Current.Import", "phase": "L1-N"},
                    ],
                }
            ],
        },
        {},
    ),
    (V201, "NotifyEVChargingNeeds"): (
        {
            "evseId": 1,
            "chargingNeeds": {
                "requestedEnergyTransfer": "AC_single_phase",
                "departureTime": "2026-03-01T17:00:00Z",
                "acChargingParameters": {
                    "energyAmount": 1,
                    "evMinCurrent": 6,
                    "evMaxCurrent": 16,
                    "evMaxVoltage": 230,
                },
            },
        },
        {"status": "Accepted"},
    ),
    (V201, "NotifyChargingLimit"): (
        {
            "chargingLimit": {"chargingLimitSource": "SO"},
            "chargingSchedule": [
                {
                    "id": 1,
                    "chargingRateUnit": "A",
                    "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 6}],
                }
            ],
        },
        {},
    ),
}


MUTANTS = {key: (mutated(call), mutated(result)) for key, (call, result) in TEMPLATES.items()}


@st.composite
def exchanges(draw: st.DrawFn) -> tuple[OcppVersion, str, Any, Any]:
    if draw(st.booleans()):
        version, action = draw(st.sampled_from(sorted(TEMPLATES, key=str)))
        calls, results = MUTANTS[(version, action)]
        return version, action, draw(calls), draw(results)
    version = draw(st.sampled_from(sorted(ACTIONS, key=lambda v: v.value)))
    action = draw(st.sampled_from(ACTIONS[version]))
    return version, action, draw(PAYLOADS), draw(PAYLOADS)


@settings(max_examples=600, deadline=None)
@given(exchanges(), st.sampled_from(list(Side)))
def test_observe_never_raises_on_any_payload(
    exchange: tuple[OcppVersion, str, Any, Any], caller: Side
) -> None:
    version, action, call_payload, result_payload = exchange
    translator = StationTranslator("fuzz", version)
    frames = [
        FrameRelayed(caller, MessageType.CALL, action, "m1", call_payload),
        FrameRelayed(caller.other, MessageType.CALLRESULT, action, "m1", result_payload),
        FrameRelayed(caller, MessageType.CALL, action, "m2", call_payload),
        FrameRelayed(caller.other, MessageType.CALLERROR, action, "m2", {}),
    ]
    for frame in frames:
        assert isinstance(translator.observe(frame), list)


def test_a_result_is_matched_to_its_call_by_the_callers_side_and_id() -> None:
    translator = StationTranslator("cp1", V16)
    start = (
        '[2,"7","StartTransaction",{"connectorId":1,"idTag":"A","meterStart":0,'
        '"timestamp":"2026-03-01T10:00:00Z"}]'
    )
    translator.observe(relayed(start, V16))
    # An answer coming from the station cannot answer the station's own call.
    wrong_side = relayed('[3,"7",{"idTagInfo":{"status":"Accepted"},"transactionId":1}]', V16)
    assert translator.observe(wrong_side) == []
    answer = relayed(
        '[3,"7",{"idTagInfo":{"status":"Accepted"},"transactionId":1}]',
        V16,
        Side.CSMS,
        "StartTransaction",
    )
    (event,) = translator.observe(answer)
    assert isinstance(event, SessionStarted) and event.transaction_id == "1"


def test_pending_calls_are_bounded() -> None:
    translator = StationTranslator("cp1", V16)
    for number in range(100):
        start = (
            f'[2,"s{number}","StartTransaction",{{"connectorId":1,"idTag":"A","meterStart":0,'
            '"timestamp":"2026-03-01T10:00:00Z"}]'
        )
        translator.observe(relayed(start, V16))
    answer = '[3,"s0",{"idTagInfo":{"status":"Accepted"},"transactionId":1}]'
    assert translator.observe(relayed(answer, V16, Side.CSMS, "StartTransaction")) == []
    answer = '[3,"s99",{"idTagInfo":{"status":"Accepted"},"transactionId":2}]'
    assert len(translator.observe(relayed(answer, V16, Side.CSMS, "StartTransaction"))) == 1


def test_frames_relayed_by_a_real_session_translate(schemas: SchemaRegistry) -> None:
    session = RelaySession("cp1", V16, schemas)
    translator = StationTranslator("cp1", V16)
    start = (
        '[2,"42","StartTransaction",{"connectorId":2,"idTag":"04A2","meterStart":10,'
        '"timestamp":"2026-03-01T10:00:00Z"}]'
    )
    session.receive(Side.STATION, start, now_s=0.0)
    session.receive(
        Side.CSMS, '[3,"42",{"idTagInfo":{"status":"Accepted"},"transactionId":8}]', now_s=0.1
    )
    events = [
        model_event
        for relay_event in session.events()
        if isinstance(relay_event, FrameRelayed)
        for model_event in translator.observe(relay_event)
    ]
    assert [type(event) for event in events] == [SessionStarted]
    assert isinstance(events[0], SessionStarted) and events[0].evse_id == 2
