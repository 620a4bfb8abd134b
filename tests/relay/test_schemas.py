from __future__ import annotations

from localctl.relay.errors import Fault
from localctl.relay.schemas import SchemaRegistry, actions_of
from localctl.relay.versions import OcppVersion

BOOT_201 = {"reason": "PowerUp", "chargingStation": {"model": "M", "vendorName": "V"}}


def test_valid_payloads_pass(schemas: SchemaRegistry) -> None:
    assert (
        schemas.validate(OcppVersion.V201, "BootNotification", BOOT_201, is_response=False) is None
    )
    boot_16 = {"chargePointModel": "M", "chargePointVendor": "V"}
    assert schemas.validate(OcppVersion.V16, "BootNotification", boot_16, is_response=False) is None
    answer = {"status": "Accepted", "currentTime": "2026-01-01T00:00:00Z", "interval": 300}
    assert schemas.validate(OcppVersion.V16, "BootNotification", answer, is_response=True) is None


def test_violations_are_classified(schemas: SchemaRegistry) -> None:
    def fault_of(payload: dict[str, object]) -> Fault | None:
        violation = schemas.validate(
            OcppVersion.V201, "BootNotification", payload, is_response=False
        )
        return None if violation is None else violation.fault

    assert fault_of({"reason": "PowerUp"}) is Fault.MISSING_PROPERTY
    assert fault_of({**BOOT_201, "reason": 5}) is Fault.TYPE_VIOLATION
    assert fault_of({**BOOT_201, "reason": "Sunshine"}) is Fault.PROPERTY_VIOLATION
    assert fault_of({**BOOT_201, "extra": 1}) is Fault.FORMAT_VIOLATION


def test_unknown_and_path_like_actions_are_unknown(schemas: SchemaRegistry) -> None:
    for action in ("NoSuchAction", "../v16/Heartbeat", "BootNotificationResponse"[:0] or "x.y"):
        violation = schemas.validate(OcppVersion.V16, action, {}, is_response=False)
        assert violation is not None and violation.fault is Fault.UNKNOWN_ACTION


def test_every_version_lists_its_actions() -> None:
    assert "StartTransaction" in actions_of(OcppVersion.V16)
    assert "TransactionEvent" in actions_of(OcppVersion.V201)
    assert "TransactionEvent" not in actions_of(OcppVersion.V16)
    assert len(actions_of(OcppVersion.V201)) == 64


def test_violations_name_the_place_and_timestamps_must_be_date_times(
    schemas: SchemaRegistry,
) -> None:
    meter = {"connectorId": 1, "meterValue": [{"timestamp": "yesterday", "sampledValue": []}]}
    violation = schemas.validate(OcppVersion.V16, "MeterValues", meter, is_response=False)
    assert violation is not None and violation.fault is Fault.PROPERTY_VIOLATION
    assert violation.description.startswith("MeterValues: meterValue/0/timestamp: ")
    assert "date-time" in violation.description
