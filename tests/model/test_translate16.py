from __future__ import annotations

from datetime import UTC, datetime

from localctl.model.events import (
    EvseStatus,
    EvseStatusChanged,
    MeterSample,
    ModelEvent,
    SessionEnded,
    SessionStarted,
    StationBooted,
    TranslationProblem,
)
from localctl.model.translator import StationTranslator
from localctl.relay.events import Side
from localctl.relay.versions import OcppVersion
from tests.model.relayed import relayed

V16 = OcppVersion.V16


def feed(translator: StationTranslator, *frames: tuple[str, Side, str]) -> list[ModelEvent]:
    events: list[ModelEvent] = []
    for text, source, action in frames:
        events.extend(translator.observe(relayed(text, V16, source, action)))
    return events


def station(text: str) -> tuple[str, Side, str]:
    return text, Side.STATION, ""


def csms_answer(text: str, action: str) -> tuple[str, Side, str]:
    return text, Side.CSMS, action


def test_boot_notification_names_the_station() -> None:
    boot = (
        '[2,"1","BootNotification",{"chargePointVendor":"Alfen BV","chargePointModel":'
        '"NG9xx","firmwareVersion":"5.8.1-4123"}]'
    )
    events = feed(StationTranslator("cp1", V16), station(boot))
    assert events == [StationBooted("cp1", "Alfen BV", "NG9xx", "5.8.1-4123")]


def test_preparing_and_finishing_are_occupied_and_connector_0_is_the_station() -> None:
    frames = [
        station(
            '[2,"2","StatusNotification",{"connectorId":1,"errorCode":"NoError",'
            '"status":"Preparing","timestamp":"2026-03-01T10:00:00Z"}]'
        ),
        station(
            '[2,"3","StatusNotification",{"connectorId":2,"errorCode":"NoError","status":"Finishing"}]'
        ),
        station(
            '[2,"4","StatusNotification",{"connectorId":0,"errorCode":"GroundFailure",'
            '"status":"Faulted"}]'
        ),
    ]
    events = feed(StationTranslator("cp1", V16), *frames)
    at = datetime(2026, 3, 1, 10, tzinfo=UTC)
    assert events == [
        EvseStatusChanged("cp1", 1, 1, EvseStatus.OCCUPIED, at),
        EvseStatusChanged("cp1", 2, 2, EvseStatus.OCCUPIED, None),
        EvseStatusChanged("cp1", 0, 0, EvseStatus.FAULTED, None, "GroundFailure"),
    ]


def test_session_starts_when_the_csms_gives_the_transaction_id() -> None:
    translator = StationTranslator("cp1", V16)
    start = (
        '[2,"17","StartTransaction",{"connectorId":2,"idTag":"04A2B3C4D5",'
        '"meterStart":123456,"timestamp":"2026-03-01T10:00:05.123456789"}]'
    )
    assert feed(translator, station(start)) == []
    answer = '[3,"17",{"idTagInfo":{"status":"Accepted"},"transactionId":4711}]'
    events = feed(translator, csms_answer(answer, "StartTransaction"))
    at = datetime(2026, 3, 1, 10, 0, 5, 123456, tzinfo=UTC)
    assert events == [SessionStarted("cp1", 2, "4711", "04A2B3C4D5", 123456.0, at)]


def test_a_start_answered_by_a_callerror_starts_nothing() -> None:
    translator = StationTranslator("cp1", V16)
    start = (
        '[2,"18","StartTransaction",{"connectorId":1,"idTag":"X","meterStart":0,'
        '"timestamp":"2026-03-01T10:00:00Z"}]'
    )
    error = '[4,"18","InternalError","CSMS down",{}]'
    late = '[3,"18",{"idTagInfo":{"status":"Accepted"},"transactionId":1}]'
    frames = [
        station(start),
        csms_answer(error, "StartTransaction"),
        csms_answer(late, "StartTransaction"),
    ]
    assert feed(translator, *frames) == []


def test_stop_ends_the_session_on_its_connector_with_its_transaction_data() -> None:
    translator = StationTranslator("cp1", V16)
    feed(
        translator,
        station(
            '[2,"1","StartTransaction",{"connectorId":1,"idTag":"A","meterStart":1000,"timestamp":"2026-03-01T10:00:00Z"}]'
        ),
        csms_answer(
            '[3,"1",{"idTagInfo":{"status":"Accepted"},"transactionId":99}]', "StartTransaction"
        ),
    )
    stop = """[2,"2","StopTransaction",{"transactionId":99,"meterStop":8500,
      "timestamp":"2026-03-01T11:00:00Z","transactionData":[
        {"timestamp":"2026-03-01T11:00:00Z","sampledValue":[
          {"value":"8.5","measurand":"Energy.Active.Import.Register","unit":"kWh","context":"Transaction.End"}]}]}]"""
    events = feed(translator, station(stop))
    end = datetime(2026, 3, 1, 11, tzinfo=UTC)
    assert events == [
        MeterSample("cp1", 1, "99", None, None, 8500.0, None, None, end),
        SessionEnded("cp1", 1, "99", "Local", 8500.0, end),
    ]


def test_a_repeated_stop_transaction_ends_the_session_once() -> None:
    translator = StationTranslator("cp1", V16)
    stop = (
        '[2,"{id}","StopTransaction",{{"transactionId":5,"meterStop":10,'
        '"timestamp":"2026-03-01T11:00:00Z"}}]'
    )
    assert len(feed(translator, station(stop.format(id="a")))) == 1
    assert feed(translator, station(stop.format(id="b"))) == []


def test_stop_of_an_unknown_transaction_still_ends_it_without_an_evse() -> None:
    stop = (
        '[2,"9","StopTransaction",{"transactionId":5,"meterStop":10,'
        '"timestamp":"2026-03-01T11:00:00Z","reason":"EVDisconnected"}]'
    )
    (event,) = feed(StationTranslator("cp1", V16), station(stop))
    assert event == SessionEnded(
        "cp1", None, "5", "EVDisconnected", 10.0, datetime(2026, 3, 1, 11, tzinfo=UTC)
    )


def test_meter_values_per_phase_in_strings_with_units() -> None:
    frame = """[2,"30","MeterValues",{"connectorId":1,"transactionId":99,"meterValue":[
      {"timestamp":"2026-03-01T10:05:00+01:00","sampledValue":[
        {"value":"15.9","measurand":"Current.Import","phase":"L1","unit":"A"},
        {"value":"16.1","measurand":"Current.Import","phase":"L2","unit":"A"},
        {"value":"0.0","measurand":"Current.Import","phase":"L3","unit":"A"},
        {"value":"7.36","measurand":"Power.Active.Import","unit":"kW"},
        {"value":"12345"},
        {"value":"231.2","measurand":"Voltage","phase":"L1-N","unit":"V"},
        {"value":"57","measurand":"SoC","location":"EV","unit":"Percent"}]}]}]"""
    (sample,) = feed(StationTranslator("cp1", V16), station(frame))
    assert sample == MeterSample(
        "cp1",
        1,
        "99",
        (15.9, 16.1, 0.0),
        7360.0,
        12345.0,
        57.0,
        231.2,
        datetime(2026, 3, 1, 9, 5, tzinfo=UTC),
    )


def test_meter_values_of_connector_0_are_the_station_meter() -> None:
    frame = """[2,"31","MeterValues",{"connectorId":0,
      "meterValue":[{"timestamp":"2026-03-01T10:05:00Z",
      "sampledValue":[{"value":"40.2","measurand":"Current.Import","unit":"A","location":"Inlet"}]}]}]"""
    (sample,) = feed(StationTranslator("cp1", V16), station(frame))
    assert isinstance(sample, MeterSample)
    assert (sample.evse_id, sample.transaction_id, sample.current_unphased_a) == (0, None, 40.2)


def test_unreadable_status_notification_is_a_problem_not_an_exception() -> None:
    frame = (
        '[2,"5","StatusNotification",{"connectorId":"one","errorCode":"NoError",'
        '"status":"Available"}]'
    )
    (event,) = feed(StationTranslator("cp1", V16), station(frame))
    assert isinstance(event, TranslationProblem)
    assert event.action == "StatusNotification" and "connectorId" in event.description


def test_calls_from_the_csms_and_unhandled_actions_yield_nothing() -> None:
    translator = StationTranslator("cp1", V16)
    heartbeat = station('[2,"6","Heartbeat",{}]')
    reset = ('[2,"7","Reset",{"type":"Soft"}]', Side.CSMS, "")
    assert feed(translator, heartbeat, reset) == []
