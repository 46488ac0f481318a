"""The shapes of webhook subscriptions and events."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

EventType = Literal["job.updated", "job.deleted", "lead.status_changed"]


class SubscriptionCreate(BaseModel):
    url: str = Field(min_length=8, max_length=2000)
    events: list[EventType] = Field(min_length=1)


class SubscriptionCreated(BaseModel):
    id: int
    secret: str = Field(description="`whsec_…`: verify our signatures with it. Shown only here.")


class SubscriptionOut(BaseModel):
    id: int
    url: str
    events: list[EventType]
    active: bool
    end_reason: str | None = None
