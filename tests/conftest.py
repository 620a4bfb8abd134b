"""Suite-wide settings."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# Properties are checked as written; what is dropped is Hypothesis' timing: on a shared 2-core
# machine a slow example says nothing about the code under test.
settings.register_profile(
    "localctl",
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
settings.load_profile("localctl")


@pytest.fixture(autouse=True)
def state_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test's controller keeps its outbox and state file in the test's own directory: a
    file shared between tests would replay one test's undelivered messages, or restore its
    sessions and limits, into the next."""
    monkeypatch.setenv("STATE_DIRECTORY", str(tmp_path))
    return tmp_path


@contextlib.contextmanager
def own_state_directory(factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The same for a module-scoped fixture, which runs before any test's autouse fixture."""
    with pytest.MonkeyPatch.context() as patch:
        directory = factory.mktemp("state")
        patch.setenv("STATE_DIRECTORY", str(directory))
        yield directory


@pytest.fixture(autouse=True)
def restored_logging() -> Iterator[None]:
    """Undo what a test's `configure_logging` did to the root logger.

    Its handler writes to the sys.stderr of that test, which pytest closes afterwards; left in
    place, every later warning fails with "I/O operation on closed file" and is lost.
    """
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    named = {n: logging.getLogger(n).level for n in ("websockets", "ocpp")}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, named_level in named.items():
        logging.getLogger(name).setLevel(named_level)
