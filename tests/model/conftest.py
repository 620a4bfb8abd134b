from __future__ import annotations

import pytest

from localctl.relay.schemas import SchemaRegistry


@pytest.fixture(scope="session")
def schemas() -> SchemaRegistry:
    """One registry for the whole run: compiling validators is the slow part."""
    return SchemaRegistry()
