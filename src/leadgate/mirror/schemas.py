"""The shapes of Connect sync states."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel


class SyncState(BaseModel):
    state: Literal["ok", "gone", "unavailable", "pending"]
    version: int | None
    list_version: int | None
    synced_at: datetime | None
    last_error: str | None
    # Beyond the contract's members: how old the mirror is, since when it fails, its size.
    age_s: float | None = None
    error_since: datetime | None = None
    value_count: int = 0
    events: bool = False
    # The client's list is private: the mirror holds `value_count` keyed hashes, no values.
    values_hidden: bool = False
