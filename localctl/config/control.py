"""Control-loop settings, fail-safe timeouts included."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from localctl.config.base import StrictModel

_STATE_NAME = "localctl-state.sqlite3"


class ControlConfig(StrictModel):
    """How often and how carefully the controller recomputes limits."""

    period_s: float = Field(1.0, gt=0, description="control period (s)")
    max_increase_a_per_cycle: float = Field(
        4.0,
        gt=0,
        description="largest increase of an EVSE limit per cycle (A); decreases are immediate",
    )
    meter_stale_s: float = Field(
        10.0,
        gt=0,
        description="a meter reading older than this (s) means its node is assumed at its limit: "
        "no increases below it",
    )
    meter_lost_s: float = Field(
        60.0,
        gt=0,
        description="a meter silent this long (s): EVSEs below its node fall back to their floors",
    )
    ems_safe_power_w: float | None = Field(
        None,
        ge=0,
        description="limit on an EMS-limited node once its EMS limit has expired (W); "
        "null: the node's share of the fallback floors",
    )
    unused_margin_a: float = Field(
        2.0,
        ge=0,
        description="headroom kept above an EV's draw when it takes less than allowed (A)",
    )
    probe_interval_s: float = Field(
        300.0,
        gt=0,
        description="how often a capped EV is offered more again to see if it takes it (s)",
    )
    rotation_interval_s: float = Field(
        600.0,
        gt=0,
        description="when not every EV can get its minimum: how long one waits at most (s)",
    )

    limit_change_significance: float = Field(
        0.1,
        gt=0,
        description="relative change of an EMS limit that is reported to the CSMS again with "
        "NotifyChargingLimit (fraction, K14.FR.02)",
    )
    compliance_tolerance_a: float = Field(
        1.5,
        ge=0,
        description="how far over its limit an EVSE may draw before it counts as disobeying (A)",
    )
    reaction_window_s: float = Field(
        15.0,
        gt=0,
        description="how long a station and its EV may take to follow a new limit before an EVSE "
        "drawing more is flagged non-compliant (s)",
    )
    non_ev_hold_s: float = Field(
        10.0,
        ge=0,
        description="the highest non-EV load estimate of a node is held this long (s), so the "
        "loop does not raise limits on a dip caused by EVs still following a decrease",
    )
    fairness: Literal["equal", "deadline"] = Field(
        "equal",
        description="how a bottleneck is shared within a priority class: equal (max-min fair), or "
        "deadline (by the current each session needs to get its energy by its departure, when "
        "stations report both)",
    )
    lease_s: float | None = Field(
        None,
        gt=0,
        description="how long a dynamic limit lasts unless renewed (s); when the controller stops, "
        "stations are back on their floors after at most this; default: the profile strategy's",
    )

    state_path: Path | None = Field(
        None,
        description="SQLite file of what must survive a restart: sessions in progress, the "
        "CSMS's charging profiles and the limits installed on each station; null: "
        f"{_STATE_NAME} beside the outbox (relay.offline.outbox_path's folder, else "
        "$STATE_DIRECTORY (systemd) or the working directory)",
    )

    @field_validator("state_path")
    @classmethod
    def _a_file(cls, path: Path | None) -> Path | None:
        if path is not None and (path.name in ("", ".", "..") or path.is_dir()):
            raise ValueError(f"{path} is a directory; name the state file itself")
        return path

    @model_validator(mode="after")
    def _lost_after_stale(self) -> ControlConfig:
        if self.meter_lost_s <= self.meter_stale_s:
            raise ValueError("meter_lost_s must be longer than meter_stale_s")
        return self

    def resolved_state_path(self, outbox_path: Path | None) -> Path:
        """The state file: as configured, else beside the outbox (`outbox_path` as configured)."""
        if self.state_path is not None:
            return self.state_path
        if outbox_path is not None:
            return outbox_path.parent / _STATE_NAME
        return Path(os.environ.get("STATE_DIRECTORY", ".")) / _STATE_NAME
