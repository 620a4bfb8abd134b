"""HTTP Basic credentials (RFC 7617) as OCPP uses them in the WebSocket handshake.

A00.FR.202-204: the station sends ``Authorization: Basic base64(<identity>:<password>)`` with
every connection request, the user name being its identity as in the URL.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

__all__ = ["BasicCredentials", "basic_auth_header", "parse_basic_auth"]


@dataclass(frozen=True, slots=True)
class BasicCredentials:
    username: str
    password: str

    def __repr__(self) -> str:  # never show the password in a traceback or log
        return f"BasicCredentials(username={self.username!r}, password='***')"


def parse_basic_auth(header: str | None) -> BasicCredentials | None:
    """The credentials of an Authorization header, or None when absent or malformed."""
    if header is None:
        return None
    scheme, _, encoded = header.strip().partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    # The user name cannot hold a colon; the password may (A00.FR.204 forbids "." in identities
    # used with basic auth for the same reason on some CSMSs).
    username, colon, password = decoded.partition(":")
    if not colon:
        return None
    return BasicCredentials(username, password)


def basic_auth_header(credentials: BasicCredentials) -> str:
    raw = f"{credentials.username}:{credentials.password}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")
