"""Keep secrets out of logs: Authorization header values and registered secret strings.

websockets logs every handshake header at DEBUG (``> Authorization: Basic ...``), and a
password read from the environment could end up in an exception message. One filter,
installed on the log handlers (`localctl.logs.configure_logging`) and on the loggers that see
handshakes (the relay calls `install_redaction`), rewrites such records before anything
formats them. A logger's own filters apply to the records logged on it, not its children's,
hence both places.
"""

from __future__ import annotations

import logging
import re

__all__ = ["REDACTED", "SecretRedactor", "install_redaction", "redactor"]

REDACTED = "<redacted>"
_HEADER = re.compile(
    r"(?i)((?:proxy-)?authorization['\"]?\s*[:=,]\s*['\"]?)"
    r"(?:(basic|bearer|digest)\s+)?[^\s'\",}]+"
)
_HANDSHAKE_LOGGERS = ("websockets.server", "websockets.client", "websockets", "localctl")
_MIN_SECRET_CHARS = 4  # shorter strings would blank out ordinary words


class SecretRedactor(logging.Filter):
    """Rewrites a record's message when it carries an Authorization value or a known secret."""

    def __init__(self) -> None:
        super().__init__()
        self._secrets: set[str] = set()

    def add_secret(self, secret: str) -> None:
        if len(secret) >= _MIN_SECRET_CHARS:
            self._secrets.add(secret)

    def redact(self, text: str) -> str:
        text = _HEADER.sub(_keep_scheme, text)
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = self.redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def _keep_scheme(match: re.Match[str]) -> str:
    scheme = f"{match[2]} " if match[2] else ""
    return f"{match[1]}{scheme}{REDACTED}"


redactor = SecretRedactor()
"""The process's one redactor: secrets registered anywhere are redacted everywhere."""


def install_redaction(*handlers: logging.Handler) -> None:
    """Put the redactor on the handshake loggers and on `handlers` (idempotent)."""
    targets: list[logging.Filterer] = [logging.getLogger(n) for n in _HANDSHAKE_LOGGERS]
    for target in [*targets, *handlers]:
        if redactor not in target.filters:
            target.addFilter(redactor)
