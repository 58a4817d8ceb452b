"""The one strict base of every config section and request body: unknown keys refused, frozen."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    """A validated record: an unknown or misspelt key is an error, and it never changes after."""

    model_config = ConfigDict(extra="forbid", frozen=True)
