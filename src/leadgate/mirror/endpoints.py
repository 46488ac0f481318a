"""Mirrors' API: sync state, sync now, and the receiver of the client's job events."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from leadgate.instances.deps import Admin, AppSettings, DbSession
from leadgate.kit.params import Id
from leadgate.kit.problems import problem_responses
from leadgate.kit.repository import TenantScope
from leadgate.mirror import service
from leadgate.mirror.schemas import SyncState
from leadgate.peer.receiver import receive_signed

router = APIRouter(tags=["connect"], responses=problem_responses(401, 404, 422, 502))


@router.get("/campaigns/{campaign_id}/jobs/{job_id}/sync", response_model=SyncState)
def sync_state(campaign_id: Id, job_id: Id, caller: Admin, session: DbSession) -> SyncState:
    """How the mirror of a Connect job stands: state, versions, age, last error."""
    scope = TenantScope(session, caller.instance_id)
    job = service.connect_job(scope, campaign_id, job_id)
    return service.sync_state(scope, job)


@router.post("/campaigns/{campaign_id}/jobs/{job_id}/sync", response_model=SyncState)
def sync_now(
    campaign_id: Id, job_id: Id, caller: Admin, session: DbSession, settings: AppSettings
) -> SyncState:
    """Sync the mirror now and answer its state afterwards."""
    scope = TenantScope(session, caller.instance_id)
    job = service.connect_job(scope, campaign_id, job_id)
    return service.sync_now(scope, job, settings)


@router.post("/connect/events/{job_id}", status_code=204)
async def receive_event(
    subdomain: str, job_id: Id, request: Request, session: DbSession
) -> Response:
    """Signed `job.updated` / `job.deleted` events from a client (Standard Webhooks)."""
    return await receive_signed(subdomain, job_id, request, session, service.receive_event)
