from __future__ import annotations

import pytest

from localctl.model.config_keys import (
    KEY_TO_VARIABLE_201,
    VariableAddress,
    address_of_result,
    variable_for_key,
)
from localctl.model.errors import NotExpressibleError


def test_well_known_1_6_keys_map_to_2_0_1_variables() -> None:
    assert variable_for_key("HeartbeatInterval") == VariableAddress(
        "OCPPCommCtrlr", "HeartbeatInterval"
    )
    assert variable_for_key("MeterValueSampleInterval") == VariableAddress(
        "SampledDataCtrlr", "TxUpdatedInterval"
    )
    assert variable_for_key("MeterValuesSampledData") == VariableAddress(
        "SampledDataCtrlr", "TxUpdatedMeasurands"
    )
    assert variable_for_key("TransactionMessageAttempts").variable_instance == "TransactionEvent"


def test_explicit_component_variable_syntax_with_instances() -> None:
    assert variable_for_key("EVSE[1].Power") == VariableAddress("EVSE", "Power", "1", None)
    assert variable_for_key("Connector.PhaseRotation[x]") == VariableAddress(
        "Connector", "PhaseRotation", None, "x"
    )


@pytest.mark.parametrize("key", ["VendorKey", "a.b.c", ".Variable", "Component."])
def test_keys_without_a_2_0_1_form_are_refused(key: str) -> None:
    with pytest.raises(NotExpressibleError):
        variable_for_key(key)


def test_every_table_entry_fits_the_2_0_1_name_limits() -> None:
    for address in KEY_TO_VARIABLE_201.values():
        assert 0 < len(address.component) <= 50 and 0 < len(address.variable) <= 50


def test_result_addresses_are_read_back() -> None:
    item = {"component": {"name": "A", "instance": "1"}, "variable": {"name": "B"}}
    assert address_of_result(item) == VariableAddress("A", "B", "1", None)
    assert address_of_result({"component": {"name": "A"}}) is None
    assert address_of_result({"component": {"name": 1}, "variable": {"name": "B"}}) is None
