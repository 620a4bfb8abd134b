from __future__ import annotations

from datetime import UTC, datetime

from localctl.model.events import (
    ChargingLimitReported,
    ChargingNeedsReported,
    EvseStatus,
    EvseStatusChanged,
    MeterSample,
    ModelEvent,
    SessionEnded,
    SessionStarted,
    StationBooted,
    TranslationProblem,
)
from localctl.model.schedules import ChargingSchedule, RateUnit, SchedulePeriod
from localctl.model.translator import StationTranslator
from localctl.relay.versions import OcppVersion
from tests.model.relayed import relayed

V201 = OcppVersion.V201
T0 = datetime(2026, 3, 1, 10, tzinfo=UTC)


def feed(translator: StationTranslator, *texts: str) -> list[ModelEvent]:
    events: list[ModelEvent] = []
    for text in texts:
        events.extend(translator.observe(relayed(text, V201)))
    return events


STARTED = """[2,"100","TransactionEvent",{"eventType":"Started",
  "timestamp":"2026-03-01T10:00:00.000Z",
  "triggerReason":"CablePluggedIn","seqNo":0,
  "transactionInfo":{"transactionId":"f3b1c0de-0001","chargingState":"EVConnected"},
  "evse":{"id":2,"connectorId":1},"idToken":{"idToken":"04A2B3C4D5","type":"ISO14443"},
  "meterValue":[{"timestamp":"2026-03-01T10:00:00Z","sampledValue":[
    {"value":1200.5,"context":"Transaction.Begin","measurand":"Energy.Active.Import.Register",
     "unitOfMeasure":{"unit":"Wh"}}]}]}]"""
UPDATED = """[2,"101","TransactionEvent",{"eventType":"Updated","timestamp":"2026-03-01T10:01:00Z",
  "triggerReason":"MeterValuePeriodic","seqNo":1,
  "transactionInfo":{"transactionId":"f3b1c0de-0001","chargingState":"Charging"},
  "meterValue":[{"timestamp":"2026-03-01T10:01:00Z","sampledValue":[
    {"value":10.1,"measurand":"Current.Import","phase":"L1"},
    {"value":10.2,"measurand":"Current.Import","phase":"L2"},
    {"value":10.3,"measurand":"Current.Import","phase":"L3"},
    {"value":7.0,"measurand":"Power.Active.Import","unitOfMeasure":{"unit":"W","multiplier":3}},
    {"value":1.3,"measurand":"Energy.Active.Import.Register","unitOfMeasure":{"unit":"kWh"}}]}]}]"""
ENDED = """[2,"102","TransactionEvent",{"eventType":"Ended","timestamp":"2026-03-01T11:00:00Z",
  "triggerReason":"EVDeparted","seqNo":2,
  "transactionInfo":{"transactionId":"f3b1c0de-0001","stoppedReason":"EVDisconnected"},
  "meterValue":[{"timestamp":"2026-03-01T11:00:00Z","sampledValue":[
    {"value":9800,"context":"Transaction.End"}]}]}]"""


def test_boot_notification_names_the_station() -> None:
    boot = (
        '[2,"1","BootNotification",{"reason":"PowerUp","chargingStation":{"model":"Wallbox X",'
        '"vendorName":"ACME","firmwareVersion":"2.4.0"}}]'
    )
    assert feed(StationTranslator("cs1", V201), boot) == [
        StationBooted("cs1", "ACME", "Wallbox X", "2.4.0")
    ]


def test_status_notification_names_evse_and_connector() -> None:
    frame = (
        '[2,"2","StatusNotification",{"timestamp":"2026-03-01T10:00:00Z",'
        '"connectorStatus":"Occupied","evseId":1,"connectorId":2}]'
    )
    assert feed(StationTranslator("cs1", V201), frame) == [
        EvseStatusChanged("cs1", 1, 2, EvseStatus.OCCUPIED, T0)
    ]


def test_started_carries_transaction_id_token_and_meter_start() -> None:
    events = feed(StationTranslator("cs1", V201), STARTED)
    assert events == [
        SessionStarted("cs1", 2, "f3b1c0de-0001", "04A2B3C4D5", 1200.5, T0),
        MeterSample("cs1", 2, "f3b1c0de-0001", None, None, 1200.5, None, None, T0),
        EvseStatusChanged("cs1", 2, 1, EvseStatus.OCCUPIED, T0),
    ]


def test_updated_and_ended_find_the_evse_of_the_transaction() -> None:
    translator = StationTranslator("cs1", V201)
    feed(translator, STARTED)
    updated = feed(translator, UPDATED)
    at = datetime(2026, 3, 1, 10, 1, tzinfo=UTC)
    assert updated == [
        MeterSample("cs1", 2, "f3b1c0de-0001", (10.1, 10.2, 10.3), 7000.0, 1300.0, None, None, at),
        EvseStatusChanged("cs1", 2, None, EvseStatus.CHARGING, at),
    ]
    ended = feed(translator, ENDED)
    end = datetime(2026, 3, 1, 11, tzinfo=UTC)
    assert ended[-1] == SessionEnded("cs1", 2, "f3b1c0de-0001", "EVDisconnected", 9800.0, end)


def test_a_replayed_seq_no_yields_nothing_twice() -> None:
    translator = StationTranslator("cs1", V201)
    feed(translator, STARTED, UPDATED)
    replay = UPDATED.replace('"101"', '"201"')
    assert feed(translator, replay) == []


def test_a_replayed_ended_does_not_end_the_session_twice() -> None:
    translator = StationTranslator("cs1", V201)
    feed(translator, STARTED, ENDED)
    assert feed(translator, ENDED.replace('"102"', '"202"')) == []


def test_ended_without_reason_means_local() -> None:
    translator = StationTranslator("cs1", V201)
    ended = ENDED.replace(',"stoppedReason":"EVDisconnected"', "")
    (*_, event) = feed(translator, STARTED, ended)
    assert isinstance(event, SessionEnded) and event.reason == "Local"


def test_meter_values_on_evse_0_prefer_outlet_over_inlet() -> None:
    frame = """[2,"5","MeterValues",{"evseId":0,"meterValue":[{"timestamp":"2026-03-01T10:00:00Z",
      "sampledValue":[
        {"value":30.0,"measurand":"Current.Import","phase":"L1-N","location":"Inlet"},
        {"value":29.0,"measurand":"Current.Import","phase":"L1-N","location":"Outlet"}]}]}]"""
    (sample,) = feed(StationTranslator("cs1", V201), frame)
    assert isinstance(sample, MeterSample)
    assert sample.current_a == (29.0, None, None)


def test_ev_charging_needs_with_departure_and_energy() -> None:
    frame = """[2,"6","NotifyEVChargingNeeds",{"evseId":1,"chargingNeeds":{
      "requestedEnergyTransfer":"AC_three_phase","departureTime":"2026-03-01T17:30:00Z",
      "acChargingParameters":{"energyAmount":30000,"evMinCurrent":6,"evMaxCurrent":32,
      "evMaxVoltage":400}}}]"""
    assert feed(StationTranslator("cs1", V201), frame) == [
        ChargingNeedsReported(
            "cs1",
            1,
            "AC_three_phase",
            datetime(2026, 3, 1, 17, 30, tzinfo=UTC),
            30000.0,
            32.0,
            6.0,
            3,
        )
    ]


def test_charging_limit_from_an_ems_is_reported_with_its_schedule() -> None:
    frame = """[2,"7","NotifyChargingLimit",{"evseId":0,
      "chargingLimit":{"chargingLimitSource":"EMS","isGridCritical":true},
      "chargingSchedule":[{"id":1,"startSchedule":"2026-03-01T10:00:00Z","chargingRateUnit":"W",
        "chargingSchedulePeriod":[{"startPeriod":0,"limit":11000.0,"numberPhases":3}]}]}]"""
    schedule = ChargingSchedule(RateUnit.WATT, (SchedulePeriod(0, 11000.0, 3),), T0)
    assert feed(StationTranslator("cs1", V201), frame) == [
        ChargingLimitReported("cs1", 0, "EMS", True, (schedule,))
    ]


def test_transaction_event_without_transaction_info_is_a_problem() -> None:
    frame = (
        '[2,"8","TransactionEvent",{"eventType":"Updated","timestamp":"2026-03-01T10:00:00Z",'
        '"triggerReason":"Trigger","seqNo":3}]'
    )
    (event,) = feed(StationTranslator("cs1", V201), frame)
    assert isinstance(event, TranslationProblem)
