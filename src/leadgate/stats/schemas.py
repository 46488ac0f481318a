"""The numbers of a dashboard, as `GET /stats` answers them and the pages draw them."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

STATUSES = ("pending", "valid", "caution", "invalid", "test")


class StatusCounts(BaseModel):
    """Leads by status."""

    pending: int = 0
    valid: int = 0
    caution: int = 0
    invalid: int = 0
    test: int = 0


class DayCounts(BaseModel):
    """The leads that came on one day (UTC), by their status now."""

    day: date
    total: int
    by_status: StatusCounts


class PublisherCounts(BaseModel):
    """One publisher's leads (`publisher_id` null: leads an admin entered)."""

    publisher_id: int | None
    name: str
    total: int
    by_status: StatusCounts
    acceptance_rate: float | None = Field(
        description="valid / (valid + caution + invalid); null when none is judged yet"
    )


class Reason(BaseModel):
    """A flag code found on invalid leads: how many invalid leads carry it, and their share."""

    code: str
    text: str
    count: int
    share: float = Field(description="count / every invalid lead of the period")


class MirrorState(BaseModel):
    """A Connect check's mirror of a client job."""

    job_id: int
    campaign_id: int
    label: str
    client: str
    state: str
    version: int | None
    synced_at: datetime | None
    age_seconds: int | None = Field(description="seconds since the last good sync")
    last_error: str | None


class VerdictDay(BaseModel):
    """Leads delivered on one day (UTC) by the client's verdict on them."""

    day: date
    accepted: int
    returned: int
    waiting: int


class ConnectStats(BaseModel):
    """The Connect side: mirrors, deliveries waiting or dead, the client's verdicts."""

    mirrors: list[MirrorState]
    delivery_backlog: int = Field(description="deliveries queued or held")
    dead_deliveries: int
    client_verdicts: list[VerdictDay]


class StatsOut(BaseModel):
    """Counts of the leads that came in [from, to] (UTC days, both included)."""

    model_config = ConfigDict(populate_by_name=True)

    campaign_id: int | None
    from_: date = Field(alias="from", serialization_alias="from")
    to: date
    total: int
    by_status: StatusCounts
    acceptance_rate: float | None
    by_publisher: list[PublisherCounts]
    by_day: list[DayCounts]
    top_rejection_reasons: list[Reason]
    connect: ConnectStats | None = Field(
        description="null when the instance (or campaign) has no Connect job"
    )
