"""The shapes of reason categories and of a bulk status change."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from leadgate.kit.params import MAX_ID
from leadgate.leads.schemas import LeadStatus

# At most this many leads in one change (ids sent, or leads a filter selects).
MAX_BULK = 50_000

# What a person may mark leads as (pending is the Processr's word: "not judged yet").
MarkStatus = Literal["valid", "invalid", "test", "caution"]
LeadId = Annotated[int, Field(ge=1, le=MAX_ID)]


class ReasonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, description='e.g. "Returned: wrong contact"')

    @field_validator("name")
    @classmethod
    def _trimmed(cls, name: str) -> str:
        name = " ".join(name.split())
        if not name:
            raise ValueError("a reason needs a name")
        return name


class ReasonOut(BaseModel):
    id: int
    name: str


class LeadSelection(BaseModel):
    """Leads of the instance by what they are; every part optional, all must hold."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    campaign_id: LeadId | None = None
    publisher_id: LeadId | None = None
    status: list[LeadStatus] = Field(
        default_factory=list, description="Any of these statuses (one status or a list)."
    )
    from_: datetime | None = Field(default=None, alias="from", description="created at or after")
    to: datetime | None = Field(default=None, description="created before")

    @field_validator("status", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value


class BulkStatus(BaseModel):
    """Mark leads, picked by id or by a filter, with a reason of the instance's categories."""

    model_config = ConfigDict(extra="forbid")

    lead_ids: list[LeadId] | None = Field(default=None, min_length=1, max_length=MAX_BULK)
    filter: LeadSelection | None = None
    status: MarkStatus
    reason: str = Field(
        min_length=1, max_length=200, description="The name of one of the reason categories."
    )
    comment: str | None = Field(default=None, max_length=2000)
    user: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="Who decided (kept in each lead's history); default: the token's name.",
    )

    @model_validator(mode="after")
    def _one_selection(self) -> BulkStatus:
        if (self.lead_ids is None) == (self.filter is None):
            raise ValueError("send either lead_ids or filter")
        return self


class BulkItem(BaseModel):
    id: int
    previous: LeadStatus
    status: LeadStatus


class BulkResult(BaseModel):
    status: LeadStatus
    reason: str
    count: int
    events: int = Field(description="lead.status_changed messages queued for publishers")
    items: list[BulkItem]
