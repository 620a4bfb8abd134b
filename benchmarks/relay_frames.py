"""Pre-built OCPP 2.0.1 frames for the relay benchmark's stations and CSMS.

Every frame is a constant tail glued to a fresh message id, so the load generator spends its
CPU on sockets rather than on JSON encoding. The payloads are what a real three-phase AC
station sends; `check_frames` validates them against the project's own schemas before a run,
because a schema violation would send the relay down its (slower) logging path and skew the
figures.
"""

from __future__ import annotations

import orjson

from localctl.relay.schemas import SchemaRegistry
from localctl.relay.versions import OcppVersion

SUBPROTOCOL = "ocpp2.0.1"
_TIMESTAMP = "2026-11-22T04:00:00.000Z"


def _sampled(
    value: float, measurand: str, unit: str, phase: str | None = None
) -> dict[str, object]:
    sample: dict[str, object] = {
        "value": value,
        "context": "Sample.Periodic",
        "measurand": measurand,
        "unitOfMeasure": {"unit": unit},
    }
    if phase is not None:
        sample["phase"] = phase
    return sample


_METER_VALUES = {
    "evseId": 1,
    "meterValue": [
        {
            "timestamp": _TIMESTAMP,
            "sampledValue": [
                _sampled(1234567.8, "Energy.Active.Import.Register", "Wh"),
                _sampled(10950.0, "Power.Active.Import", "W"),
                *(_sampled(15.9, "Current.Import", "A", phase) for phase in ("L1", "L2", "L3")),
                *(_sampled(229.6, "Voltage", "V", f"{p}-N") for p in ("L1", "L2", "L3")),
                _sampled(64.0, "SoC", "Percent"),
            ],
        }
    ],
}

# action -> (request payload, response payload the CSMS answers with)
PAYLOADS: dict[str, tuple[dict[str, object], dict[str, object]]] = {
    "BootNotification": (
        {
            "reason": "PowerUp",
            "chargingStation": {
                "model": "Bench-AC22",
                "vendorName": "localctl-bench",
                "serialNumber": "SN-000001",
                "firmwareVersion": "1.4.2",
            },
        },
        {"currentTime": _TIMESTAMP, "interval": 60, "status": "Accepted"},
    ),
    "StatusNotification": (
        {
            "timestamp": _TIMESTAMP,
            "connectorStatus": "Occupied",
            "evseId": 1,
            "connectorId": 1,
        },
        {},
    ),
    "Heartbeat": ({}, {"currentTime": _TIMESTAMP}),
    "MeterValues": (_METER_VALUES, {}),
}

# The station's CALL is `[2,"<id>` + tail; the CSMS's CALLRESULT is `[3,"<id>` + tail.
_CALL_TAILS = {
    action: '","' + action + '",' + orjson.dumps(request).decode() + "]"
    for action, (request, _) in PAYLOADS.items()
}
_RESULT_TAILS = {
    action: '",' + orjson.dumps(response).decode() + "]"
    for action, (_, response) in PAYLOADS.items()
}
BOOT_SEQUENCE = ("BootNotification", "StatusNotification", "Heartbeat", "MeterValues")


def call_frame(message_id: str, action: str) -> str:
    return '[2,"' + message_id + _CALL_TAILS[action]


def result_for(call_text: str) -> str:
    """The CALLRESULT answering `call_text`, found by slicing rather than JSON parsing
    (the CSMS shares the load generator's core, so it must stay cheap)."""
    id_end = call_text.index('"', 4)
    action_start = id_end + 3
    action = call_text[action_start : call_text.index('"', action_start)]
    return "[3," + call_text[3:id_end] + _RESULT_TAILS[action]


def frame_bytes(action: str) -> int:
    return len(call_frame("1000000", action).encode())


def check_frames() -> None:
    """Fail loudly if any pre-built frame is not valid OCPP 2.0.1."""
    schemas = SchemaRegistry()
    for action in PAYLOADS:
        call = orjson.loads(call_frame("42", action))
        result = orjson.loads(result_for(call_frame("42", action)))
        assert call[1] == result[1] == "42", (call, result)
        for payload, is_response in ((call[3], False), (result[2], True)):
            violation = schemas.validate(OcppVersion.V201, action, payload, is_response=is_response)
            if violation is not None:
                raise ValueError(f"bench frame {action} is invalid: {violation.description}")
