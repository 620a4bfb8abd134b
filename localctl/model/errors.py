"""The model's exceptions, split by whose fault it is.

Asking for something a version cannot express is ours (`NotExpressibleError`); a payload
from a peer that cannot be read is theirs (`UnreadablePayloadError`).
"""

from __future__ import annotations


class ModelError(Exception):
    """Base of every exception the model raises."""


class NotExpressibleError(ModelError):
    """The controller asked for a command or profile the station's OCPP version cannot carry,
    or that the specification forbids the controller to send."""


class UnreadablePayloadError(ModelError):
    """A peer's payload lacks what is needed to read it (only raised by the codecs that parse
    a CSMS's requests; the event translators never raise)."""
