"""A supervised set of background tasks.

Every task a simulator starts is kept here, so none is fire-and-forget: closing the owner
cancels and awaits them all, and a task that died with an error is reported, not lost.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

LOGGER = logging.getLogger(__name__)


class TaskSupervisor:
    """Owns background tasks; `aclose()` cancels the rest and re-raises the first failure."""

    def __init__(self, owner: str) -> None:
        self._owner = owner
        self._tasks: set[asyncio.Task[None]] = set()
        self.failures: list[BaseException] = []

    def spawn(self, coro: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        task = asyncio.create_task(coro, name=f"{self._owner}:{name}")
        self._tasks.add(task)
        task.add_done_callback(self._on_done)
        return task

    def _on_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        error = task.exception()
        if error is not None:
            LOGGER.error("task %s failed", task.get_name(), exc_info=error)
            self.failures.append(error)

    async def aclose(self) -> None:
        """Cancel what still runs, wait for it, then raise the first failure seen."""
        pending = list(self._tasks)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        if self.failures:
            first, *_ = self.failures
            self.failures.clear()
            raise first
