"""Connect API: sync state of mirrors, sync now, and the receiver of the client's events."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from leadgate.connect import service
from leadgate.connect.models import ConnectMirror
from leadgate.connect.schemas import SyncState
from leadgate.errors import InvalidRequest, NotFound, Unauthorized
from leadgate.instances.deps import Admin, DbSession
from leadgate.instances.service import get_instance
from leadgate.kit.params import Id
from leadgate.kit.problems import problem, problem_responses
from leadgate.kit.repository import TenantScope

router = APIRouter(tags=["connect"], responses=problem_responses(401, 404, 422, 502))


@router.get("/campaigns/{campaign_id}/jobs/{job_id}/sync", response_model=SyncState)
def sync_state(campaign_id: Id, job_id: Id, caller: Admin, session: DbSession) -> SyncState:
    """How the mirror of a Connect job stands: state, versions, age, last error."""
    scope = TenantScope(session, caller.instance_id)
    job = service.connect_job(scope, campaign_id, job_id)
    return service.state_of(session.get(ConnectMirror, job.id))


@router.post("/campaigns/{campaign_id}/jobs/{job_id}/sync", response_model=SyncState)
def sync_now(
    campaign_id: Id, job_id: Id, request: Request, caller: Admin, session: DbSession
) -> SyncState:
    """Sync the mirror now and answer its state afterwards."""
    scope = TenantScope(session, caller.instance_id)
    job = service.connect_job(scope, campaign_id, job_id)
    return service.sync_now(scope, job, request.app.state.settings)


Receiver = Callable[[Session, int, int, bytes, dict[str, str]], bool]


async def receive_signed(
    subdomain: str, job_id: int, request: Request, session: Session, handler: Receiver
) -> Response:
    """Hand a client's signed event to `handler`; map its refusals to what the client needs.

    410 (the job or instance is gone here) ends the client's subscription; 401 is a bad
    signature or a stale timestamp; 422 an event we cannot apply. The database work runs in the
    thread pool: the handler is async only to read the raw body.
    """
    body = await request.body()
    instance = await run_in_threadpool(get_instance, session, subdomain)
    if instance is None:
        return problem(410, "mirror_gone", "There is no such instance.")
    try:
        await run_in_threadpool(handler, session, instance.id, job_id, body, dict(request.headers))
    except NotFound as exc:
        return problem(410, "mirror_gone", exc.detail)
    except Unauthorized as exc:
        return problem(401, "bad_signature", exc.detail)
    except InvalidRequest as exc:
        return problem(422, exc.code, exc.detail)
    return Response(status_code=204)


@router.post("/connect/events/{job_id}", status_code=204)
async def receive_event(
    subdomain: str, job_id: Id, request: Request, session: DbSession
) -> Response:
    """Signed `job.updated` / `job.deleted` events from a client (Standard Webhooks)."""
    return await receive_signed(subdomain, job_id, request, session, service.receive_event)
