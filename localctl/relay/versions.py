"""OCPP-J versions, identified by their WebSocket subprotocol names."""

from __future__ import annotations

from enum import Enum


class OcppVersion(Enum):
    """The OCPP-J versions the relay speaks; the value is the WebSocket subprotocol."""

    V16 = "ocpp1.6"
    V201 = "ocpp2.0.1"
    V21 = "ocpp2.1"

    # As for `Side`: identity is the hash. Every validator lookup hashes a version, and
    # Enum's own __hash__ is Python code.
    __hash__ = object.__hash__

    @classmethod
    def from_subprotocol(cls, subprotocol: str) -> OcppVersion:
        return cls(subprotocol)


SUPPORTED_SUBPROTOCOLS: tuple[str, ...] = tuple(v.value for v in OcppVersion)
