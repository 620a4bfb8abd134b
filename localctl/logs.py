"""Structured logs: every record can carry station id, message id, action and direction."""

from __future__ import annotations

import logging
import sys
from typing import Literal

import orjson

from localctl.security.redact import install_redaction

CONTEXT_FIELDS = ("station_id", "message_id", "action", "direction")
LogFormat = Literal["text", "json"]


class KeyValueFormatter(logging.Formatter):
    """``time level logger message key=value ...``: readable, and still easy to grep."""

    def format(self, record: logging.LogRecord) -> str:
        context = " ".join(
            f"{name}={getattr(record, name)}" for name in CONTEXT_FIELDS if hasattr(record, name)
        )
        line = (
            f"{self.formatTime(record)} {record.levelname:<7} {record.name}: {record.getMessage()}"
        )
        if context:
            line = f"{line}  {context}"
        if record.exc_info:
            line = f"{line}\n{self.formatException(record.exc_info)}"
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for log shippers."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({n: getattr(record, n) for n in CONTEXT_FIELDS if hasattr(record, n)})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


def configure_logging(level: str = "INFO", log_format: LogFormat = "text") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else KeyValueFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    install_redaction(handler)  # websockets logs the Authorization header at DEBUG
    root.setLevel(level.upper())
    # websockets logs every failed handshake at INFO and above; ours say it with the station id.
    logging.getLogger("websockets").setLevel(logging.WARNING)
    # The ocpp package (used by the simulators) logs every frame it sends at INFO.
    logging.getLogger("ocpp").setLevel(logging.WARNING)
