from __future__ import annotations

import asyncio

import pytest

from localctl.sim.tasks import TaskSupervisor


async def test_close_cancels_running_tasks() -> None:
    supervisor = TaskSupervisor("test")
    forever = supervisor.spawn(asyncio.sleep(3600), "forever")
    await supervisor.aclose()
    assert forever.cancelled()


async def test_close_reraises_the_first_failure() -> None:
    async def fail() -> None:
        raise ValueError("broken")

    supervisor = TaskSupervisor("test")
    supervisor.spawn(fail(), "fail")
    await asyncio.sleep(0)
    with pytest.raises(ValueError, match="broken"):
        await supervisor.aclose()
    await supervisor.aclose()
