from __future__ import annotations

from localctl.sim.config_store import KeyStore16, VariableStore201


def test_key_store_reports_known_and_unknown_keys() -> None:
    store = KeyStore16(connectors=2)
    known, unknown = store.get(["NumberOfConnectors", "Bogus"])
    assert known == [{"key": "NumberOfConnectors", "readonly": True, "value": "2"}]
    assert unknown == ["Bogus"]


def test_key_store_checks_writes() -> None:
    store = KeyStore16(connectors=1, overrides={"VendorKey": "x"})
    assert store.change("HeartbeatInterval", "60") == "Accepted"
    assert store.change("HeartbeatInterval", "1.5") == "Rejected"
    assert store.change("LocalAuthorizeOffline", "maybe") == "Rejected"
    assert store.change("NumberOfConnectors", "4") == "Rejected"
    assert store.change("Bogus", "1") == "NotSupported"
    assert store.change("VendorKey", "y") == "Accepted"
    assert (store.value("HeartbeatInterval"), store.value("VendorKey")) == ("60", "y")


def test_variable_store_answers_like_a_device_model() -> None:
    store = VariableStore201()
    heartbeat = {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}
    assert store.get({**heartbeat, "attribute_type": "Target"})["attribute_status"] == (
        "NotSupportedAttributeType"
    )
    assert store.set({**heartbeat, "attribute_value": "30"})["attribute_status"] == "Accepted"
    assert store.get(heartbeat)["attribute_value"] == "30"
    entry = next(e for e in store.report() if e["variable"]["name"] == "HeartbeatInterval")
    assert entry["variable_attribute"] == [
        {"type": "Actual", "value": "30", "mutability": "ReadWrite"}
    ]
