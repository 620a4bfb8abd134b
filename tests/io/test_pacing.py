from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from email.utils import format_datetime
from http import HTTPStatus

import pytest
from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import InvalidStatus
from websockets.http11 import Request, Response

from localctl.io.pacing import RETRY_AFTER_MAX_S, TokenBucket, UpstreamPacer, retry_after_s
from localctl.io.relay_server import RelayServer
from localctl.relay.schemas import SchemaRegistry
from tests.io.conftest import relay_config
from tests.io.test_relay_server import station

NOW_WALL_S = 1_795_000_000.0


class FakeClock:
    def __init__(self) -> None:
        self.now_s = 100.0

    def __call__(self) -> float:
        return self.now_s


def refusal(status: int, retry_after: str | None) -> Response:
    headers = Headers({"Retry-After": retry_after} if retry_after is not None else {})
    return Response(status, "", headers)


def test_a_token_bucket_gives_its_burst_at_once_then_one_token_per_interval() -> None:
    bucket = TokenBucket(rate_per_s=10.0, burst=3, now_s=0.0)
    for _ in range(3):
        assert bucket.wait_s(0.0) == 0.0
        bucket.take(0.0)
    assert bucket.wait_s(0.0) == pytest.approx(0.1)
    assert bucket.wait_s(0.05) == pytest.approx(0.05)
    bucket.take(0.1)
    assert bucket.wait_s(0.1) == pytest.approx(0.1)
    # Idle time refills up to the burst, never beyond it.
    assert bucket.wait_s(60.0) == 0.0
    for _ in range(3):
        bucket.take(60.0)
    assert bucket.wait_s(60.0) > 0


@pytest.mark.parametrize(
    ("status", "header", "expected_s"),
    [
        (503, "7", 7.0),
        (429, "0", 0.0),
        (503, format_datetime(datetime.fromtimestamp(NOW_WALL_S + 30, UTC), usegmt=True), 30.0),
        (503, format_datetime(datetime.fromtimestamp(NOW_WALL_S - 30, UTC), usegmt=True), 0.0),
        (503, "86400", RETRY_AFTER_MAX_S),
        (503, None, None),
        (503, "soon", None),
        (500, "7", None),
        (403, "7", None),
    ],
)
def test_retry_after_is_read_from_429_and_503_only(
    status: int, header: str | None, expected_s: float | None
) -> None:
    assert retry_after_s(refusal(status, header), NOW_WALL_S) == expected_s


def test_a_retry_after_holds_every_new_open_until_it_has_passed() -> None:
    clock = FakeClock()
    pacer = UpstreamPacer(1000.0, 10, 4, clock=clock, wall=lambda: NOW_WALL_S)
    assert pacer.next_open_delay_s() == 0.0
    assert pacer.refused(refusal(503, "5")) == 5.0
    assert pacer.refused(refusal(502, "60")) is None  # not a request to slow down
    assert pacer.next_open_delay_s() == pytest.approx(5.0)
    clock.now_s += 5.0
    assert pacer.next_open_delay_s() == 0.0
    assert pacer.stats.held_off == 1


async def test_opens_beyond_the_concurrency_wait_and_are_admitted_in_arrival_order() -> None:
    pacer = UpstreamPacer(10_000.0, 100, 3)
    admitted: list[int] = []
    release = asyncio.Event()

    async def open_one(index: int) -> None:
        async with pacer.opening():
            admitted.append(index)
            await release.wait()

    tasks = [asyncio.create_task(open_one(i)) for i in range(10)]
    await asyncio.sleep(0.05)
    assert admitted == [0, 1, 2]
    assert (pacer.stats.in_flight, pacer.stats.waiting) == (3, 7)
    release.set()
    await asyncio.gather(*tasks)
    assert admitted == list(range(10))
    assert pacer.stats.peak_in_flight == 3
    assert (pacer.stats.opened, pacer.stats.in_flight, pacer.stats.waiting) == (10, 0, 0)


async def test_opens_start_no_faster_than_the_bucket_allows() -> None:
    pacer = UpstreamPacer(100.0, 5, 50)
    starts_s: list[float] = []

    async def open_one() -> None:
        async with pacer.opening():
            starts_s.append(time.monotonic())

    began_s = time.monotonic()
    await asyncio.gather(*(open_one() for _ in range(25)))
    # 5 at once, then 20 more at 100/s: at least 0.2 s in all.
    assert starts_s[-1] - began_s >= 0.19
    assert sum(1 for s in starts_s if s - began_s < 0.1) <= 5 + 10
    assert pacer.stats.longest_wait_s >= 0.19


async def test_a_caller_cancelled_in_line_gives_its_place_back() -> None:
    pacer = UpstreamPacer(10_000.0, 100, 1)
    release = asyncio.Event()

    async def hold() -> None:
        async with pacer.opening():
            await release.wait()

    holder = asyncio.create_task(hold())
    waiter = asyncio.create_task(hold())
    await asyncio.sleep(0.01)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert pacer.stats.waiting == 0
    release.set()
    await holder
    async with asyncio.timeout(1.0), pacer.opening():
        pass


@contextlib.asynccontextmanager
async def busy_csms() -> AsyncIterator[str]:
    """The URL of a CSMS endpoint that refuses every connection with 503 and Retry-After: 2."""

    def refuse(connection: ServerConnection, request: Request) -> Response:
        response = connection.respond(HTTPStatus.SERVICE_UNAVAILABLE, "busy\n")
        response.headers["Retry-After"] = "2"
        return response

    async def never(connection: ServerConnection) -> None:
        raise AssertionError("refused connections never reach the handler")

    async with serve(never, "127.0.0.1", 0, process_request=refuse) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        yield f"ws://127.0.0.1:{port}/ocpp"


async def test_a_csms_refusing_with_503_and_retry_after_pauses_the_relays_upstream_opens(
    schemas: SchemaRegistry,
) -> None:
    async with busy_csms() as url, RelayServer(relay_config(url), schemas) as relay:
        with pytest.raises(InvalidStatus) as refused:
            async with station(relay, "CP-1"):
                pass
        assert refused.value.response.status_code == 503
        assert relay.upstream_pacer.stats.held_off == 1
        assert 1.5 < relay.upstream_pacer.next_open_delay_s() <= 2.0
