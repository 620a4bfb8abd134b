"""The base of every configuration model."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    """Unknown keys are errors and loaded values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)
