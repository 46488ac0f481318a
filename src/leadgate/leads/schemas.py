"""The shapes of leads."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, field_validator

LeadStatus = Literal["pending", "valid", "caution", "invalid", "test"]
Scalar = str | int | float | bool | None


class LeadSubmit(BaseModel):
    data: dict[str, Scalar] = Field(description="Field values keyed by the campaign's field names.")

    @field_validator("data")
    @classmethod
    def _storable(cls, data: dict[str, Scalar]) -> dict[str, Scalar]:
        # What PostgreSQL's jsonb cannot hold is refused here, with the field's name, rather
        # than failing in the database: NUL in text, NaN and infinities.
        for key, value in data.items():
            if "\x00" in key or (isinstance(value, str) and "\x00" in value):
                raise ValueError(f"the field {key!r} contains a NUL character (\\u0000)")
            if isinstance(value, float) and not math.isfinite(value):
                raise ValueError(f"the field {key!r} is not a finite number")
        return data


class FlagOut(BaseModel):
    job_id: int
    job_type: str
    code: str
    message: str


class JobRunOut(BaseModel):
    job_id: int
    type: str
    passed: bool
    mirror_version: int | None = None


class HistoryOut(BaseModel):
    at: datetime
    event: str
    detail: dict[str, object]


class DeliveryOut(BaseModel):
    id: int
    state: str
    attempts: int
    client_lead_id: str | None = None
    client_status: str | None = None


class LeadOut(BaseModel):
    id: int
    campaign_id: int
    publisher_id: int | None
    data: dict[str, Scalar]
    status: LeadStatus
    score: int
    max_score: int
    flags: list[FlagOut]
    jobs: list[JobRunOut]
    history: list[HistoryOut]
    deliveries: list[DeliveryOut]
    created_at: datetime


class LeadSummary(BaseModel):
    id: int
    campaign_id: int
    publisher_id: int | None
    status: LeadStatus
    score: int
    max_score: int
    created_at: datetime


class StatusChange(BaseModel):
    reason: str = Field(min_length=1, max_length=2000)
    user: str = Field(min_length=1, max_length=200)


class PublisherLeadOut(BaseModel):
    """What a publisher sees of its lead."""

    id: int
    status: LeadStatus
    score: int
    max_score: int
    flags: list[FlagOut]
    updated_at: datetime
