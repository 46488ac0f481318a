"""Admin API: the instance's reason categories, and marking many leads at once."""

from __future__ import annotations

from fastapi import APIRouter, Response

from leadgate.instances.deps import Admin, DbSession
from leadgate.kit.pagination import Page
from leadgate.kit.params import Id
from leadgate.kit.problems import problem_responses
from leadgate.kit.repository import TenantScope
from leadgate.review import service
from leadgate.review.schemas import BulkResult, BulkStatus, ReasonIn, ReasonOut

router = APIRouter(tags=["review"], responses=problem_responses(401, 404, 409, 413, 422))


@router.get("/reasons", response_model=Page[ReasonOut])
def list_reasons(caller: Admin, session: DbSession) -> Page[ReasonOut]:
    """The reasons a person picks when marking leads (every instance starts with `None`)."""
    return Page[ReasonOut](items=service.categories(TenantScope(session, caller.instance_id)))


@router.post("/reasons", status_code=201, response_model=ReasonOut)
def add_reason(body: ReasonIn, caller: Admin, session: DbSession) -> ReasonOut:
    """A new reason category; 409 reason_exists for a name taken (in any case)."""
    return service.add_category(TenantScope(session, caller.instance_id), body.name)


@router.patch("/reasons/{reason_id}", response_model=ReasonOut)
def rename_reason(reason_id: Id, body: ReasonIn, caller: Admin, session: DbSession) -> ReasonOut:
    """Rename a reason category (leads marked with it keep the name they were marked with)."""
    scope = TenantScope(session, caller.instance_id)
    return service.rename_category(scope, reason_id, body.name)


@router.delete("/reasons/{reason_id}", status_code=204)
def remove_reason(reason_id: Id, caller: Admin, session: DbSession) -> Response:
    """Remove a reason category; the last one stays (409 reason_last)."""
    service.remove_category(TenantScope(session, caller.instance_id), reason_id)
    return Response(status_code=204)


@router.post("/leads/bulk-status", response_model=BulkResult)
def bulk_status(body: BulkStatus, caller: Admin, session: DbSession) -> BulkResult:
    """Mark leads (by `lead_ids`, or every lead a `filter` selects, up to 50,000) valid,
    invalid, test or caution with a reason: all or none; one history entry and one
    `lead.status_changed` event per lead; leads marked valid go to the integration jobs."""
    scope = TenantScope(session, caller.instance_id)
    return service.bulk_status(scope, body, caller.actor)
