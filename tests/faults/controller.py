"""`localctl run` as a real process, for the case where the controller is killed: its config
file, its listening port read from its log, and SIGKILL."""

from __future__ import annotations

import asyncio
import contextlib
import re
import sys
from pathlib import Path

import yaml

_LISTENING = re.compile(rb"listening for stations on ws://127\.0\.0\.1:(\d+)/")
_START_TIMEOUT_S = 30.0


def write_config(path: Path, upstream_url: str, outbox: Path, relay: dict[str, object]) -> Path:
    offline = {
        "outbox_path": str(outbox),
        "reconnect_min_s": 0.05,
        "reconnect_max_s": 0.2,
        "replay_retry_interval_s": 0.1,
        "accepted_tokens": ["TAG1"],
    }
    settings = {"listen": "127.0.0.1:0", "upstream_url": upstream_url, "offline": offline}
    path.write_text(yaml.safe_dump({"relay": {**settings, **relay}}))
    return path


class ControllerProcess:
    """One `python -m localctl run --config FILE`; its log is read all along (a full pipe
    would stall it) and kept for the failure message."""

    def __init__(self, config: Path) -> None:
        self._config = config
        self._process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self.log: list[bytes] = []
        self.port = 0
        self._listening: asyncio.Future[int] | None = None

    async def start(self) -> None:
        self._listening = asyncio.get_running_loop().create_future()
        self._process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "localctl", "run", "--config", str(self._config),
            stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        self._reader = asyncio.get_running_loop().create_task(self._read_log())
        try:
            self.port = await asyncio.wait_for(asyncio.shield(self._listening), _START_TIMEOUT_S)
        except TimeoutError:
            raise AssertionError(b"".join(self.log).decode()) from None

    async def kill(self) -> None:
        """SIGKILL: no shutdown, no flush, nothing of the controller's own runs after it."""
        assert self._process is not None
        self._process.kill()
        await self._process.wait()
        if self._reader is not None:
            await self._reader

    async def stop(self) -> None:
        if self._process is not None and self._process.returncode is None:
            self._process.terminate()
            try:
                await asyncio.wait_for(self._process.wait(), 15)
            except TimeoutError:
                self._process.kill()
                await self._process.wait()
        if self._reader is not None:
            await self._reader

    async def _read_log(self) -> None:
        assert self._process is not None and self._process.stderr is not None
        assert self._listening is not None
        while line := await self._process.stderr.readline():
            self.log.append(line)
            match = _LISTENING.search(line)
            if match is not None and not self._listening.done():
                self._listening.set_result(int(match.group(1)))
        if not self._listening.done():
            with contextlib.suppress(asyncio.InvalidStateError):
                self._listening.set_exception(AssertionError(b"".join(self.log).decode()))
