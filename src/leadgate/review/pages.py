"""Pages: the review queue ("2nd check") and the instance's reason categories (admins only).

The queue lists leads held for a person (`caution`, or on request `invalid`) with their flags,
filtered by campaign and publisher, keyset-paginated like the lead list; the selected leads (or
every lead of the filter) are marked through the same service as `POST /leads/bulk-status`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from leadgate.campaigns import service as campaigns
from leadgate.errors import LeadgateError
from leadgate.instances.deps import DbSession
from leadgate.kit.params import Id
from leadgate.kit.repository import TenantScope
from leadgate.leads import repository as leads
from leadgate.leads import service as lead_service
from leadgate.leads.models import Lead
from leadgate.publishers import service as publishers
from leadgate.review import service
from leadgate.review.schemas import BulkStatus, LeadSelection, ReasonIn
from leadgate.ui.forms import Problems, attempt, from_error, from_validation
from leadgate.ui.templating import base_url, render, see_other
from leadgate.users.deps import AdminPost, AdminUser, scope_of

router = APIRouter()

PAGE_SIZE = 100
QUEUE_STATUSES = ("caution", "invalid")
ACTIONS = {"valid": "Mark valid", "invalid": "Mark invalid", "test": "Mark test"}


@dataclass(frozen=True)
class QueueFilter:
    """What the queue shows: leads of one status (caution unless asked), by campaign and
    publisher."""

    status: str = "caution"
    campaign_id: int | None = None
    publisher_id: int | None = None

    def query_string(self) -> str:
        """The filter as URL parameters."""
        parts = [f"status={self.status}"]
        if self.campaign_id:
            parts.append(f"campaign_id={self.campaign_id}")
        if self.publisher_id:
            parts.append(f"publisher_id={self.publisher_id}")
        return "&".join(parts)


def _id(raw: str) -> int | None:
    return int(raw) if raw.isdigit() and 0 < int(raw) < 2**63 else None


def parse_queue(status: str, campaign_id: str, publisher_id: str) -> QueueFilter:
    """The queue's filter from the query string (anything unknown falls back to the default)."""
    return QueueFilter(
        status=status if status in QUEUE_STATUSES else "caution",
        campaign_id=_id(campaign_id),
        publisher_id=_id(publisher_id),
    )


def _row(lead: Lead) -> dict[str, Any]:
    data = lead.data or {}
    preview = next(
        (str(data[k]) for k in ("email", "company", "companyName", "name") if data.get(k)), ""
    )
    return {
        "summary": lead_service.to_summary(lead),
        "preview": preview,
        "flags": [str(f.get("message") or f.get("code")) for f in lead.flags or []],
    }


def _queue(
    request: Request,
    me: AdminUser,
    scope: TenantScope,
    flt: QueueFilter,
    cursor: str | None,
    *,
    problems: Problems | None = None,
    form: dict[str, Any] | None = None,
    status: int = 200,
) -> HTMLResponse:
    page = leads.search(
        scope,
        campaign_id=flt.campaign_id,
        status=flt.status,
        publisher_id=flt.publisher_id,
        limit=PAGE_SIZE,
        cursor=cursor,
        to_item=_row,
    )
    counts = leads.status_counts(scope, campaign_id=flt.campaign_id, publisher_id=flt.publisher_id)
    all_campaigns = campaigns.list_all(scope)
    all_publishers = publishers.list_all(scope)
    return render(
        request,
        "review/queue.html",
        {
            "title": "Review queue",
            "filter": flt,
            "page": page,
            "counts": {s: counts.get(s, 0) for s in lead_service.STATUSES},
            "campaigns": all_campaigns,
            "publishers": all_publishers,
            "campaign_names": {c.id: c.name for c in all_campaigns},
            "publisher_names": {p.id: p.name for p in all_publishers},
            "reason_choices": [(r.name, r.name) for r in service.categories(scope)],
            "actions": ACTIONS,
            "first_page": cursor is None,
            "problems": problems or Problems(),
            "form": form or {},
        },
        me=me,
        status=status,
    )


@router.get("/review", response_class=HTMLResponse)
def review_page(
    request: Request,
    me: AdminUser,
    session: DbSession,
    status: str = "caution",
    campaign_id: str = "",
    publisher_id: str = "",
    cursor: str | None = None,
) -> HTMLResponse:
    """Leads held for a person, with their flags; mark the selected ones with a reason."""
    flt = parse_queue(status, campaign_id, publisher_id)
    return _queue(request, me, scope_of(session, me), flt, cursor)


@router.post("/review", response_class=HTMLResponse, response_model=None)
def review_mark(
    request: Request,
    me: AdminPost,
    session: DbSession,
    lead_id: Annotated[list[str], Form()] = [],  # noqa: B006 (FastAPI copies defaults)
    every: Annotated[str, Form(max_length=10)] = "",
    action: Annotated[str, Form(max_length=20)] = "",
    reason: Annotated[str, Form(max_length=1000)] = "",
    comment: Annotated[str, Form(max_length=5000)] = "",
    status: Annotated[str, Form(max_length=20)] = "caution",
    campaign_id: Annotated[str, Form(max_length=30)] = "",
    publisher_id: Annotated[str, Form(max_length=30)] = "",
) -> Response:
    """Mark the selected leads (or every lead of the filter) valid, invalid or test."""
    scope = scope_of(session, me)
    flt = parse_queue(status, campaign_id, publisher_id)
    form = {"action": action, "reason": reason, "comment": comment}
    selection: dict[str, Any]
    if every == "true":
        selection = {
            "filter": LeadSelection(
                status=[flt.status],
                campaign_id=flt.campaign_id,
                publisher_id=flt.publisher_id,
            )
        }
    else:
        ids = [int(i) for i in lead_id if i.isdigit()]
        if not ids:
            problems = Problems(form=["Select at least one lead (or every lead of the filter)."])
            return _queue(request, me, scope, flt, None, problems=problems, form=form, status=422)
        selection = {"lead_ids": ids}
    if action not in ACTIONS:
        problems = Problems(fields={"action": "Choose what to mark the leads as."})
        return _queue(request, me, scope, flt, None, problems=problems, form=form, status=422)
    try:
        body = BulkStatus(
            status=action,
            reason=reason,
            comment=comment or None,
            user=me.email,
            **selection,
        )
        with attempt(session):
            service.bulk_status(scope, body, me.email)
    except ValidationError as exc:
        problems = from_validation(exc)
        return _queue(request, me, scope, flt, None, problems=problems, form=form, status=422)
    except LeadgateError as exc:
        problems = from_error(exc)
        return _queue(request, me, scope, flt, None, problems=problems, form=form, status=422)
    return see_other(f"{base_url(me.subdomain)}/review?{flt.query_string()}&notice=leads_marked")


# --- reason categories ------------------------------------------------------------------------


def _reasons(
    request: Request,
    me: AdminUser,
    scope: TenantScope,
    *,
    problems: Problems | None = None,
    name: str = "",
    status: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "review/reasons.html",
        {
            "title": "Reasons",
            "reasons": service.categories(scope),
            "problems": problems or Problems(),
            "name": name,
        },
        me=me,
        status=status,
    )


@router.get("/reasons", response_class=HTMLResponse)
def reasons_page(request: Request, me: AdminUser, session: DbSession) -> HTMLResponse:
    """The reasons people pick when they mark leads by hand; add, rename, remove."""
    return _reasons(request, me, scope_of(session, me))


def _name(raw: str) -> ReasonIn:
    return ReasonIn(name=raw)


@router.post("/reasons", response_class=HTMLResponse, response_model=None)
def add_reason(
    request: Request,
    me: AdminPost,
    session: DbSession,
    name: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """A new reason at the end of the list."""
    scope = scope_of(session, me)
    try:
        with attempt(session):
            service.add_category(scope, _name(name).name)
    except ValidationError as exc:
        problems = from_validation(exc)
        return _reasons(request, me, scope, problems=problems, name=name, status=422)
    except LeadgateError as exc:
        problems = Problems(fields={"name": exc.detail})
        return _reasons(request, me, scope, problems=problems, name=name, status=409)
    return see_other(f"{base_url(me.subdomain)}/reasons?notice=created")


@router.post("/reasons/{reason_id}", response_class=HTMLResponse, response_model=None)
def rename_reason(
    request: Request,
    reason_id: Id,
    me: AdminPost,
    session: DbSession,
    name: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """Rename a reason."""
    scope = scope_of(session, me)
    try:
        with attempt(session):
            service.rename_category(scope, reason_id, _name(name).name)
    except ValidationError:
        problems = Problems(form=["Give the reason a name (up to 200 characters)."])
        return _reasons(request, me, scope, problems=problems, status=422)
    except LeadgateError as exc:
        return _reasons(request, me, scope, problems=Problems(form=[exc.detail]), status=exc.status)
    return see_other(f"{base_url(me.subdomain)}/reasons?notice=saved")


@router.post("/reasons/{reason_id}/remove", response_class=HTMLResponse, response_model=None)
def remove_reason(request: Request, reason_id: Id, me: AdminPost, session: DbSession) -> Response:
    """Remove a reason (leads marked with it keep its name in their history)."""
    scope = scope_of(session, me)
    try:
        with attempt(session):
            service.remove_category(scope, reason_id)
    except LeadgateError as exc:
        return _reasons(request, me, scope, problems=Problems(form=[exc.detail]), status=exc.status)
    return see_other(f"{base_url(me.subdomain)}/reasons?notice=deleted")
