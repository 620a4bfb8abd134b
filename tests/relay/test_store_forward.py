"""Store and forward in the sans-I/O session: offline answers, persistence, ordered replay,
retries, held CSMS calls and 1.6 transaction-id mapping."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson

from localctl.offline.entries import OutboxEntry
from localctl.relay.events import (
    PersistRequested,
    ReplayAbandoned,
    ReplayAnswered,
    ReplayFinished,
    Side,
)
from localctl.relay.offline import OfflineResponder
from localctl.relay.schemas import SchemaRegistry
from localctl.relay.session import RelaySession, SessionOptions
from localctl.relay.store_forward import ReplayRules, StoreAndForward
from localctl.relay.versions import OcppVersion

STATION, CSMS = Side.STATION, Side.CSMS
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
TIME = "2026-11-22T12:00:00Z"
START_PAYLOAD = {"connectorId": 1, "idTag": "TAG1", "meterStart": 0, "timestamp": TIME}
START = orjson.dumps([2, "s-1", "StartTransaction", START_PAYLOAD]).decode()
SAMPLE = {"timestamp": TIME, "sampledValue": [{"value": "100"}]}
METER_PAYLOAD = {"connectorId": 1, "transactionId": -1, "meterValue": [SAMPLE]}
METER = orjson.dumps([2, "m-1", "MeterValues", METER_PAYLOAD]).decode()
STOP_PAYLOAD = {"transactionId": -1, "meterStop": 500, "timestamp": TIME}
STOP = orjson.dumps([2, "p-1", "StopTransaction", STOP_PAYLOAD]).decode()


def make_session(
    schemas: SchemaRegistry, version: OcppVersion = OcppVersion.V16, attempts: int = 3
) -> RelaySession:
    responder = OfflineResponder(version, accepted_tokens=frozenset({"TAG1"}))
    store = StoreAndForward(responder, lambda: NOW, ReplayRules(attempts, retry_interval_s=10))
    options = SessionOptions(relayed_call_timeout_s=30, own_call_timeout_s=10)
    return RelaySession("CP-1", version, schemas, options=options, store_and_forward=store)


def sent(session: RelaySession) -> list[tuple[Side, list[object]]]:
    return [(o.destination, orjson.loads(o.text)) for o in session.data_to_send()]


def entry(seq: int, text: str, local_transaction_id: str | None = None) -> OutboxEntry:
    frame = orjson.loads(text)
    return OutboxEntry(seq, "CP-1", frame[2], frame[1], text, local_transaction_id, 0.0)


def persist(session: RelaySession, text: str, seq: int, local_id: int | None = None) -> None:
    session.receive(STATION, text, 1.0)
    requests = [e for e in session.events() if isinstance(e, PersistRequested)]
    assert [r.message_id for r in requests] == [orjson.loads(text)[1]]
    assert requests[0].needs_local_transaction_id is (local_id is not None)
    local = None if local_id is None else str(local_id)
    session.persisted(requests[0].message_id, entry(seq, text, local), local_id)


def test_offline_the_station_is_answered_locally_and_transactions_after_persisting(
    schemas: SchemaRegistry,
) -> None:
    session = make_session(schemas)
    session.upstream_lost()
    session.receive(STATION, '[2,"h-1","Heartbeat",{}]', 1.0)
    assert sent(session) == [(STATION, [3, "h-1", {"currentTime": "2026-11-22T12:00:00Z"}])]
    session.receive(STATION, START, 1.0)
    assert sent(session) == []  # nothing before it is stored
    assert [type(e).__name__ for e in session.events()][-1] == "PersistRequested"
    session.persisted("s-1", entry(1, START, "-1"), -1)
    answer = {"idTagInfo": {"status": "Accepted"}, "transactionId": -1}
    assert sent(session) == [(STATION, [3, "s-1", answer])]


def test_replay_goes_in_order_and_maps_the_local_transaction_id_both_ways(
    schemas: SchemaRegistry,
) -> None:
    session = make_session(schemas)
    session.upstream_lost()
    persist(session, START, 1, local_id=-1)
    persist(session, METER, 2)
    sent(session)
    session.upstream_restored([entry(1, START, "-1"), entry(2, METER)], {})
    assert sent(session) == [(CSMS, orjson.loads(START))]  # one at a time, original id
    session.receive(CSMS, '[3,"s-1",{"idTagInfo":{"status":"Accepted"},"transactionId":777}]', 2.0)
    replayed_meter = sent(session)
    assert replayed_meter[0][0] is CSMS
    assert replayed_meter[0][1][3]["transactionId"] == 777  # type: ignore[index]
    answered = next(e for e in session.events() if isinstance(e, ReplayAnswered))
    assert answered.csms_transaction_id == "777"
    session.receive(CSMS, '[3,"m-1",{}]', 2.0)
    assert any(isinstance(e, ReplayFinished) for e in session.events())
    session.receive(STATION, STOP, 3.0)  # online again: the station still says -1
    assert sent(session)[0][1][3]["transactionId"] == 777  # type: ignore[index]
    session.receive(CSMS, '[3,"p-1",{}]', 3.0)
    sent(session)
    session.receive(CSMS, '[2,"r-1","RemoteStopTransaction",{"transactionId":777}]', 3.0)
    assert sent(session) == [(STATION, [2, "r-1", "RemoteStopTransaction", {"transactionId": -1}])]


def test_csms_calls_wait_until_the_backlog_is_delivered(schemas: SchemaRegistry) -> None:
    session = make_session(schemas, OcppVersion.V201)
    session.upstream_lost()
    event = (
        '[2,"t-1","TransactionEvent",{"eventType":"Started","timestamp":"2026-11-22T12:00:00Z",'
        '"triggerReason":"Authorized","seqNo":0,"transactionInfo":{"transactionId":"TX-1"}}]'
    )
    persist(session, event, 1)
    sent(session)
    session.upstream_restored([entry(1, event)], {})
    replayed = sent(session)
    assert [d for d, _ in replayed] == [CSMS]
    assert replayed[0][1][3]["offline"] is True  # type: ignore[index]  # E12.FR.02
    session.receive(
        CSMS,
        '[2,"c-1","GetVariables",{"getVariableData":[{"component":{"name":"X"},"variable":{"name":"Y"}}]}]',
        2.0,
    )
    assert sent(session) == []  # held
    session.receive(CSMS, '[3,"t-1",{}]', 2.0)
    assert [(d, f[1]) for d, f in sent(session)] == [(STATION, "c-1")]


def test_a_refused_entry_is_retried_then_given_up_and_replay_moves_on(
    schemas: SchemaRegistry,
) -> None:
    session = make_session(schemas, attempts=2)
    session.upstream_restored([entry(1, METER), entry(2, STOP)], {})
    assert sent(session)[0][1][1] == "m-1"
    session.receive(CSMS, '[4,"m-1","InternalError","busy",{}]', 5.0)
    assert sent(session) == []  # the retry waits its interval
    assert session.next_deadline_s() == 15.0
    session.tick(15.0)
    assert sent(session)[0][1][1] == "m-1"
    session.tick(15.0 + 31)  # no answer: the second and last attempt is used up
    abandoned = [e for e in session.events() if isinstance(e, ReplayAbandoned)]
    assert [(a.seq, a.action) for a in abandoned] == [(1, "MeterValues")]
    assert sent(session)[0][1][1] == "p-1"


def test_a_call_the_csms_never_answered_is_answered_offline_when_it_goes(
    schemas: SchemaRegistry,
) -> None:
    session = make_session(schemas)
    session.receive(STATION, STOP, 1.0)
    assert sent(session)[0][0] is CSMS
    session.upstream_lost()
    requests = [e for e in session.events() if isinstance(e, PersistRequested)]
    assert [r.action for r in requests] == ["StopTransaction"]


def test_calls_stored_during_replay_go_after_the_backlog(schemas: SchemaRegistry) -> None:
    session = make_session(schemas)
    session.upstream_restored([entry(1, METER)], {})
    assert sent(session)[0][1][1] == "m-1"
    persist(session, STOP, 2)  # the station goes on while the backlog is delivered
    assert sent(session) == [(STATION, [3, "p-1", {}])]
    session.receive(CSMS, '[3,"m-1",{}]', 2.0)
    assert sent(session)[0][1][1] == "p-1"
    session.receive(CSMS, '[3,"p-1",{}]', 2.0)
    assert any(isinstance(e, ReplayFinished) for e in session.events())
