"""Leads: accept, read, list, and record what happens to them."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from leadgate.campaigns.models import Campaign
from leadgate.errors import Conflict, Forbidden, InvalidRequest, NotFound, UnknownFields
from leadgate.kit.pagination import Page
from leadgate.kit.repository import TenantScope
from leadgate.leads import hooks, repository
from leadgate.leads.keys import key_state
from leadgate.leads.models import Lead, LeadHistory
from leadgate.leads.schemas import HistoryOut, LeadOut, LeadSummary, PublisherLeadOut
from leadgate.webhooks import service as webhooks


def check_data(campaign: Campaign, data: Mapping[str, Any]) -> None:
    """Refuse lead data with fields the campaign's form does not have."""
    known = {f["name"] for f in campaign.fields}
    unknown = sorted(set(data) - known)
    if unknown:
        raise UnknownFields(
            f"The campaign {campaign.name!r} has no field(s) {', '.join(unknown)}.",
            fields=unknown,
        )


def check_open(campaign: Campaign) -> None:
    """Refuse leads for a paused or ended campaign."""
    if campaign.status != "active":
        raise Forbidden(
            f"The campaign {campaign.name!r} is {campaign.status}; it accepts no leads.",
            code=f"campaign_{campaign.status}",
        )


def record(scope: TenantScope, lead: Lead, event: str, **detail: Any) -> None:
    """Add an entry to the lead's history."""
    scope.session.add(LeadHistory(lead_id=lead.id, event=event, detail=detail))


def get(scope: TenantScope, lead_id: int) -> Lead:
    """A lead of this instance, or 404 lead_not_found."""
    return repository.get(scope, lead_id)


def history(scope: TenantScope, lead: Lead) -> list[HistoryOut]:
    """The lead's history, oldest first."""
    rows = repository.history_of(scope, lead)
    return [HistoryOut(at=h.at, event=h.event, detail=h.detail) for h in rows]


def to_out(scope: TenantScope, lead: Lead) -> LeadOut:
    """The full API view of a lead."""
    return LeadOut.model_validate(
        {
            "id": lead.id,
            "campaign_id": lead.campaign_id,
            "publisher_id": lead.publisher_id,
            "data": lead.data,
            "status": lead.status,
            "score": lead.score,
            "max_score": lead.max_score,
            "flags": lead.flags,
            "jobs": lead.jobs,
            "history": history(scope, lead),
            "deliveries": hooks.deliveries_of(scope, lead.id),
            "created_at": lead.created_at,
        }
    )


def to_summary(lead: Lead) -> LeadSummary:
    """The list view of a lead."""
    return LeadSummary(
        id=lead.id,
        campaign_id=lead.campaign_id,
        publisher_id=lead.publisher_id,
        status=lead.status,
        score=lead.score,
        max_score=lead.max_score,
        created_at=lead.created_at,
    )


STATUSES = ("pending", "valid", "caution", "invalid", "test")


def search(
    scope: TenantScope,
    *,
    campaign_id: int | None,
    status: str | None,
    limit: int,
    cursor: str | None,
) -> Page[LeadSummary]:
    """Leads newest first, filtered by campaign and status."""
    if status is not None and status not in STATUSES:
        raise InvalidRequest(f"status must be one of {', '.join(STATUSES)}.")
    return repository.search(
        scope,
        campaign_id=campaign_id,
        status=status,
        limit=limit,
        cursor=cursor,
        to_item=to_summary,
    )


def set_status(scope: TenantScope, lead: Lead, status: str, reason: str, user: str) -> Lead:
    """A person's verdict on a lead, kept in its history and sent to its publisher."""
    previous = lead.status
    lead.status = status
    detail = {"from": previous, "to": status, "reason": reason, "user": user, "by": "user"}
    record(scope, lead, "status_changed", **detail)
    keys_follow(scope, lead, "user")
    scope.session.flush()
    if lead.publisher_id is not None:
        webhooks.emit(
            scope,
            [lead.publisher_id],
            "lead.status_changed",
            {"lead_id": lead.id, "status": status, "reason": reason, "user": user},
        )
    return lead


def keys_follow(scope: TenantScope, lead: Lead, by: str) -> None:
    """The keys the lead claimed take its new status, changed by a person or the client (`by`):
    marked invalid, it is `returned`, which a duplicate check may let go of."""
    repository.restate_keys(scope, lead.id, key_state(lead.status, by))


def request_hash(data: Mapping[str, Any]) -> str:
    """A stable digest of lead data, to tell a replay from a different body."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def check_replay(stored_hash: str | None, digest: str, *, same_campaign: bool = True) -> None:
    """A repeated Idempotency-Key must come with the same body, for the same campaign: else 409."""
    if not same_campaign:
        raise Conflict(
            "This Idempotency-Key was used for a lead of another campaign.",
            code="idempotency_conflict",
        )
    if stored_hash != digest:
        raise Conflict(
            "This Idempotency-Key was used with a different body.", code="idempotency_conflict"
        )


def publisher_lead(scope: TenantScope, publisher_id: int, lead_id: int) -> Lead:
    """One of the publisher's own leads; any other id is 404 lead_not_found."""
    lead = repository.find_of_publisher(scope, publisher_id, lead_id)
    if lead is None:
        raise NotFound(f"No lead {lead_id} of yours.", code="lead_not_found")
    return lead


def to_publisher_out(lead: Lead) -> PublisherLeadOut:
    """The publisher's view of a lead."""
    return publisher_out(
        lead.id, lead.status, lead.score, lead.max_score, lead.flags, lead.updated_at
    )


def publisher_out(
    lead_id: int,
    status: str,
    score: int,
    max_score: int,
    flags: list[dict[str, Any]],
    updated_at: datetime,
) -> PublisherLeadOut:
    """The publisher's view of a lead from its columns (the intake has no ORM row)."""
    return PublisherLeadOut.model_validate(
        {
            "id": lead_id,
            "status": status,
            "score": score,
            "max_score": max_score,
            "flags": flags,
            "updated_at": updated_at,
        }
    )
