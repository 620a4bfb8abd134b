from __future__ import annotations

import dataclasses

import pytest

from localctl.model.events import EvseStatus, EvseStatusChanged, StationBooted


def test_events_are_frozen_values() -> None:
    event = StationBooted("cp1", "V", "M", None)
    assert event == StationBooted("cp1", "V", "M", None)
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.vendor = "other"  # type: ignore[misc]


def test_status_values_are_the_ocpp_names() -> None:
    assert EvseStatus("SuspendedEVSE") is EvseStatus.SUSPENDED_EVSE
    changed = EvseStatusChanged("cp1", 1, None, EvseStatus.OCCUPIED, None)
    assert changed.error_code is None
