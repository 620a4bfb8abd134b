"""Appends (or acknowledges) from several station tasks until killed, printing each result.

Run by the crash test as `python -m tests.offline.crash_child FILE ROUND STATIONS`; the test
kills it with SIGKILL and checks the file against what was printed. A line
`<seq> <station> <index>` means: that append was durable before the line was written. With
ROUND `ack`, the child replays instead: `ack <seq>` means that acknowledgement was durable.
"""

from __future__ import annotations

import asyncio
import sys
import time
from functools import partial
from pathlib import Path

from localctl.offline import Outbox

# A realistic size: the frame text is about a kilobyte, like a three-phase MeterValues.
_PADDING = "x" * 1000


async def _station(outbox: Outbox, station_id: str, *, round_id: str) -> None:
    index = 0
    while True:
        message_id = f"{round_id}-{index}"
        frame = f'[2,"{message_id}","MeterValues",{{"pad":"{_PADDING}"}}]'
        entry = await outbox.append(
            station_id, "MeterValues", message_id, frame, received_wall_s=time.time()
        )
        print(f"{entry.seq} {station_id} {index}", flush=True)
        index += 1


async def _replay(outbox: Outbox, station_id: str) -> None:
    while page := await outbox.pending(station_id, limit=10):
        for entry in page:
            await outbox.acknowledge(entry.seq, f'[3,"{entry.message_id}",{{}}]')
            print(f"ack {entry.seq}", flush=True)


async def main(path: Path, round_id: str, station_count: int) -> None:
    outbox = await Outbox.open(path)
    print("open", flush=True)
    work = _replay if round_id == "ack" else partial(_station, round_id=round_id)
    async with asyncio.TaskGroup() as group:
        for number in range(station_count):
            group.create_task(work(outbox, f"cs{number}"))


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])))
