"""Exceptions of the simulators.

`SimError` is the root. Faults of the simulator's own use (calling a station that is not
connected) are kept apart from what the peer did (answering with a CALLERROR, dropping the
connection).
"""

from __future__ import annotations


class SimError(Exception):
    """Root of every exception raised by `localctl.sim`."""


class NotConnectedError(SimError):
    """A call was made to a peer that has no open connection."""


class ConnectionLostError(SimError):
    """The connection closed while a call was waiting for its answer."""


class PeerCallError(SimError):
    """The peer answered a CALL with a CALLERROR."""

    def __init__(self, action: str, code: str, description: str) -> None:
        super().__init__(f"{action} answered with {code}: {description}")
        self.action = action
        self.code = code
        self.description = description


class InvalidResultError(SimError):
    """The peer answered a CALL with a CALLRESULT its action's schema does not allow."""

    def __init__(self, action: str, description: str) -> None:
        super().__init__(f"{action} answered with an invalid payload: {description}")
        self.action = action
        self.description = description


class SubprotocolMismatchError(SimError):
    """The server chose an OCPP version this simulated station does not speak."""
