from __future__ import annotations

from pathlib import Path

import pytest

from localctl.config.loader import load_config

SITE_CONFIGS = sorted((Path(__file__).parent.parent / "site-configs").glob("*.yaml"))


def test_there_are_example_configs() -> None:
    assert SITE_CONFIGS


@pytest.mark.parametrize("path", SITE_CONFIGS, ids=lambda p: p.name)
def test_every_example_config_loads(path: Path) -> None:
    load_config(path)
