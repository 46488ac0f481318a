"""The shapes of leads."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

LeadStatus = Literal["pending", "valid", "caution", "invalid", "test"]
Scalar = str | int | float | bool | None


class LeadSubmit(BaseModel):
    data: dict[str, Scalar] = Field(description="Field values keyed by the campaign's field names.")


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
