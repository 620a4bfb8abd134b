from __future__ import annotations

from localctl.relay.queue import Origin, OutboundCall, SendingQueue


def call(message_id: str, key: str | None = None) -> OutboundCall:
    return OutboundCall(message_id, "Heartbeat", "[]", Origin.PEER, 10.0, key)


def test_only_one_call_is_in_flight_until_settled() -> None:
    queue = SendingQueue()
    queue.enqueue(call("a"))
    queue.enqueue(call("b"))
    first = queue.next_to_send(0.0)
    assert first is not None and first.message_id == "a"
    assert queue.next_to_send(0.0) is None
    assert queue.settle("b") is None
    assert queue.settle("a") is first
    second = queue.next_to_send(1.0)
    assert second is not None and second.message_id == "b"


def test_waiting_calls_with_the_same_key_coalesce_to_the_newest() -> None:
    queue = SendingQueue()
    queue.enqueue(call("busy"))
    queue.next_to_send(0.0)
    assert queue.enqueue(call("old", key="evse-1")) is None
    replaced = queue.enqueue(call("new", key="evse-1"))
    assert replaced is not None and replaced.message_id == "old"
    assert len(queue) == 2
    queue.settle("busy")
    sent = queue.next_to_send(0.0)
    assert sent is not None and sent.message_id == "new"


def test_the_call_in_flight_expires_at_its_deadline() -> None:
    queue = SendingQueue()
    queue.enqueue(call("a"))
    queue.next_to_send(5.0)
    assert queue.expire(14.9) is None
    expired = queue.expire(15.0)
    assert expired is not None and expired.message_id == "a"
    assert queue.in_flight is None


def test_drain_returns_everything_and_empties_the_queue() -> None:
    queue = SendingQueue()
    for message_id in "abc":
        queue.enqueue(call(message_id))
    queue.next_to_send(0.0)
    assert [c.message_id for c in queue.drain()] == ["a", "b", "c"]
    assert len(queue) == 0
