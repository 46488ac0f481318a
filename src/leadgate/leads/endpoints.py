"""Admin API: submit, read and judge leads."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from leadgate.instances.deps import Admin, AppSettings, DbSession
from leadgate.kit.pagination import Page
from leadgate.kit.params import MAX_ID, Id
from leadgate.kit.problems import problem_responses
from leadgate.kit.repository import TenantScope
from leadgate.leads import export, lifecycle, service
from leadgate.leads.schemas import LeadOut, LeadSubmit, LeadSummary, StatusChange

router = APIRouter(tags=["leads"], responses=problem_responses(401, 403, 404, 413, 422))


@router.post("/campaigns/{campaign_id}/leads", status_code=201, response_model=LeadOut)
def submit_lead(
    campaign_id: Id, body: LeadSubmit, caller: Admin, session: DbSession, settings: AppSettings
) -> LeadOut:
    """Submit a lead; the Processr judges it in the same request unless it must wait."""
    scope = TenantScope(session, caller.instance_id)
    staleness = settings.connect_max_staleness_s
    lead = lifecycle.submit(scope, campaign_id, dict(body.data), max_staleness_s=staleness)
    return service.to_out(scope, lead)


@router.get("/leads", response_model=Page[LeadSummary])
def list_leads(
    caller: Admin,
    session: DbSession,
    campaign_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    status: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: str | None = None,
) -> Page[LeadSummary]:
    """Leads, newest first, filtered by campaign and status."""
    scope = TenantScope(session, caller.instance_id)
    return service.search(scope, campaign_id=campaign_id, status=status, limit=limit, cursor=cursor)


@router.get(
    "/leads/export",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "One row per lead."}},
)
def export_leads(
    request: Request,
    caller: Admin,
    session: DbSession,
    campaign_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    status: Annotated[
        list[str] | None, Query(description="One or more statuses (repeat the parameter).")
    ] = None,
    publisher_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    from_: Annotated[
        str | None,
        Query(alias="from", max_length=40, description="Created at or after (date or date-time)."),
    ] = None,
    to: Annotated[
        str | None,
        Query(max_length=40, description="Created before; a date includes that whole day."),
    ] = None,
    neutralise: Annotated[
        bool,
        Query(
            description="Cells that start with `=`, `+`, `-`, `@`, a tab or a CR get a `'` in "
            "front, so a spreadsheet shows them as text (OWASP CSV injection); false: the "
            "exact values."
        ),
    ] = True,
) -> StreamingResponse:
    """The instance's leads as CSV (id, created_at, campaign, status, score, publisher, every
    form field, flags, flag codes, the reason of a person's verdict), oldest first, streamed."""
    scope = TenantScope(session, caller.instance_id)
    job = export.prepare(
        scope,
        campaign_id=campaign_id,
        statuses=status or (),
        publisher_id=publisher_id,
        since=export.moment(from_, "from"),
        before=export.moment(to, "to", end=True),
        neutralise=neutralise,
    )
    return StreamingResponse(
        export.stream(request.app.state.engine, job),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{export.filename(job)}"'},
    )


@router.get("/leads/{lead_id}", response_model=LeadOut)
def get_lead(lead_id: Id, caller: Admin, session: DbSession) -> LeadOut:
    """One lead with its flags, per-job results, history and deliveries."""
    scope = TenantScope(session, caller.instance_id)
    return service.to_out(scope, service.get(scope, lead_id))


@router.post("/leads/{lead_id}/reprocess", response_model=LeadOut)
def reprocess_lead(
    lead_id: Id, caller: Admin, session: DbSession, settings: AppSettings
) -> LeadOut:
    """Run the campaign's Processr on the lead again."""
    scope = TenantScope(session, caller.instance_id)
    lead = service.get(scope, lead_id)
    staleness = settings.connect_max_staleness_s
    lifecycle.rejudge(scope, lead, reason="reprocessed on request", max_staleness_s=staleness)
    return service.to_out(scope, lead)


@router.post("/leads/{lead_id}/validate", response_model=LeadOut)
def validate_lead(lead_id: Id, body: StatusChange, caller: Admin, session: DbSession) -> LeadOut:
    """Mark a lead valid by hand, with a reason."""
    scope = TenantScope(session, caller.instance_id)
    lead = lifecycle.set_status(scope, service.get(scope, lead_id), "valid", body.reason, body.user)
    return service.to_out(scope, lead)


@router.post("/leads/{lead_id}/invalidate", response_model=LeadOut)
def invalidate_lead(lead_id: Id, body: StatusChange, caller: Admin, session: DbSession) -> LeadOut:
    """Mark a lead invalid by hand, with a reason."""
    scope = TenantScope(session, caller.instance_id)
    lead = service.set_status(scope, service.get(scope, lead_id), "invalid", body.reason, body.user)
    return service.to_out(scope, lead)
