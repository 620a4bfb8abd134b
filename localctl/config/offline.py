"""Offline operation: what the relay does while the CSMS is unreachable."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from localctl.config.base import StrictModel

_OUTBOX_NAME = "localctl-outbox.sqlite3"


class OfflineConfig(StrictModel):
    """Store and forward through CSMS outages (OCPP 2.0.1 part 4, 6.3, 2025-09 errata)."""

    enabled: bool = Field(
        True,
        description="keep stations connected when the CSMS is lost, answer them locally and "
        "forward their transaction messages later; false: close the station with its CSMS "
        "socket (OCPP-J's default)",
    )
    outbox_path: Path | None = Field(
        None,
        description="SQLite file of undelivered transaction messages and 1.6 id maps; null: "
        f"{_OUTBOX_NAME} in $STATE_DIRECTORY (systemd) or the working directory",
    )
    reconnect_min_s: float = Field(1.0, gt=0, description="first upstream reconnect delay (s)")
    reconnect_max_s: float = Field(
        60.0, gt=0, description="longest upstream reconnect delay (s); delays are jittered"
    )
    replay_attempts: int = Field(
        3, ge=1, description="times a stored message is offered to the CSMS before it is given up"
    )
    replay_retry_interval_s: float = Field(
        30.0, gt=0, description="wait before offering a refused message again, times the attempt"
    )
    unknown_token_policy: Literal["accept", "reject"] = Field(
        "reject", description="offline answer for a token the CSMS never answered for"
    )
    accepted_tokens: tuple[str, ...] = Field(
        (), description="tokens accepted offline even if the CSMS was never asked about them"
    )

    @model_validator(mode="after")
    def _backoff_in_order(self) -> OfflineConfig:
        if self.reconnect_max_s < self.reconnect_min_s:
            raise ValueError("reconnect_max_s must not be below reconnect_min_s")
        return self

    def resolved_outbox_path(self) -> Path:
        if self.outbox_path is not None:
            return self.outbox_path
        return Path(os.environ.get("STATE_DIRECTORY", ".")) / _OUTBOX_NAME
