"""Faults in OCPP-J traffic and their mapping to each version's CALLERROR codes.

Faults are classified by *what went wrong* (`Fault`), independent of the OCPP version; the
version-specific error code is chosen only at the edge, when a CALLERROR is written
(`error_code_for`). The tables follow OCPP-J 1.6 section 4.2.3 as amended by its errata
(FormationViolation is spelled FormatViolation) and OCPP 2.0.1 part 4 section 4.3.
"""

from __future__ import annotations

from enum import Enum

from localctl.relay.versions import OcppVersion


class Fault(Enum):
    """What was wrong with a frame or payload a peer sent."""

    NOT_JSON = "not_json"
    NOT_RPC_FRAME = "not_rpc_frame"
    MESSAGE_ID_UNREADABLE = "message_id_unreadable"
    UNKNOWN_MESSAGE_TYPE = "unknown_message_type"
    PAYLOAD_NOT_OBJECT = "payload_not_object"
    UNKNOWN_ACTION = "unknown_action"
    MISSING_PROPERTY = "missing_property"
    TYPE_VIOLATION = "type_violation"
    OCCURRENCE_VIOLATION = "occurrence_violation"
    PROPERTY_VIOLATION = "property_violation"
    FORMAT_VIOLATION = "format_violation"


_OCPP16_CODES: dict[Fault, str] = {
    Fault.NOT_JSON: "FormatViolation",
    Fault.NOT_RPC_FRAME: "ProtocolError",
    Fault.MESSAGE_ID_UNREADABLE: "ProtocolError",
    Fault.UNKNOWN_MESSAGE_TYPE: "GenericError",
    Fault.PAYLOAD_NOT_OBJECT: "FormatViolation",
    Fault.UNKNOWN_ACTION: "NotImplemented",
    # OCPP-J 1.6: ProtocolError is "payload for action is incomplete".
    Fault.MISSING_PROPERTY: "ProtocolError",
    Fault.TYPE_VIOLATION: "TypeConstraintViolation",
    Fault.OCCURRENCE_VIOLATION: "OccurrenceConstraintViolation",
    Fault.PROPERTY_VIOLATION: "PropertyConstraintViolation",
    Fault.FORMAT_VIOLATION: "FormatViolation",
}

# OCPP 2.0.1 part 4, 4.3: RpcFrameworkError for a frame that is no valid RPC request (message
# id unreadable), MessageTypeNotSupported for an unknown message type number.
_OCPP20_CODES: dict[Fault, str] = {
    **_OCPP16_CODES,
    Fault.NOT_JSON: "RpcFrameworkError",
    Fault.NOT_RPC_FRAME: "RpcFrameworkError",
    Fault.MESSAGE_ID_UNREADABLE: "RpcFrameworkError",
    Fault.UNKNOWN_MESSAGE_TYPE: "MessageTypeNotSupported",
    # OCPP 2.0.1 narrows ProtocolError to "not conform the PDU structure"; a missing required
    # field violates an occurrence constraint.
    Fault.MISSING_PROPERTY: "OccurrenceConstraintViolation",
}


def error_code_for(fault: Fault, version: OcppVersion) -> str:
    """The CALLERROR errorCode that reports `fault` in `version`."""
    table = _OCPP16_CODES if version is OcppVersion.V16 else _OCPP20_CODES
    return table[fault]


class LocalctlError(Exception):
    """Base of every error localctl raises on purpose."""


class PeerProtocolError(LocalctlError):
    """A peer sent something OCPP-J does not allow. Carries what to answer."""

    def __init__(self, fault: Fault, description: str, message_id: str | None = None) -> None:
        super().__init__(description)
        self.fault = fault
        self.description = description
        self.message_id = message_id
        # The frame's message type number, once known: a malformed reply is never answered.
        self.message_type: int | None = None


class LocalProtocolError(LocalctlError):
    """localctl itself was asked to do something OCPP-J does not allow (a bug or misuse)."""
