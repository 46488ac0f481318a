"""Admin API of Connect delivery: field mapping, connection state, deliveries and retries;
and the receiver of the client's `lead.status_changed` events."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from leadgate.campaigns import service as campaigns
from leadgate.delivery import mapping, repository, service
from leadgate.delivery.config import ConnectDeliveryConfig
from leadgate.delivery.models import Delivery, DeliveryConnection
from leadgate.errors import NotFound
from leadgate.instances.deps import Admin, DbSession
from leadgate.kit.pagination import Page
from leadgate.kit.params import MAX_ID, Id
from leadgate.kit.problems import problem_responses
from leadgate.kit.repository import TenantScope
from leadgate.peer.receiver import receive_signed
from leadgate.processr.models import ProcessrJob

router = APIRouter(tags=["connect delivery"], responses=problem_responses(401, 404, 422, 502))


class MappingRequest(ConnectDeliveryConfig):
    """A delivery job's config so far (checked like the job's own: a bad one is a 422 naming
    the key, never echoing a secret), and our campaign."""

    campaign_id: int = Field(ge=1, le=MAX_ID, description="Our campaign.")


class ConnectionOut(BaseModel):
    job_id: int
    state: str
    consecutive_failures: int
    paused_reason: str | None
    paused_by: str | None
    follow_client_status: bool
    client_fields: list[dict[str, Any]]
    problems: list[str]
    events: bool
    counts: dict[str, int]


class ConnectionPatch(BaseModel):
    follow_client_status: bool | None = None
    paused: bool | None = None


class AttemptOut(BaseModel):
    at: Any
    status_code: int | None
    outcome: str
    error: str | None
    duration_ms: int


class DeliveryItem(BaseModel):
    """A delivery as `GET /deliveries` lists it; its attempts are in `GET /deliveries/{id}`."""

    id: int
    lead_id: int
    job_id: int
    state: str
    attempts: int
    client_lead_id: int | None
    client_status: str | None
    client_flags: list[dict[str, Any]]
    last_error: str | None


class DeliveryDetail(DeliveryItem):
    """One delivery with every attempt, oldest first."""

    attempt_log: list[AttemptOut]


def _connection(scope: TenantScope, job: ProcessrJob) -> DeliveryConnection:
    conn = repository.connection(scope, job.id)
    if conn is None:
        raise NotFound("The job has no client connection yet.", code="not_a_delivery_job")
    return conn


def _connection_out(scope: TenantScope, job: ProcessrJob) -> ConnectionOut:
    conn = _connection(scope, job)
    own = campaigns.get(scope, job.campaign_id).fields
    counts = repository.count_by_state(scope, job_id=job.id)
    return ConnectionOut(
        job_id=job.id,
        state=conn.state,
        consecutive_failures=conn.consecutive_failures,
        paused_reason=conn.paused_reason,
        paused_by=conn.paused_by,
        follow_client_status=conn.follow_client_status,
        client_fields=conn.client_fields,
        problems=mapping.problems(job.config.get("Field_mapping", {}), conn.client_fields, own),
        events=conn.webhook_id is not None,
        counts=counts,
    )


def _item(d: Delivery) -> DeliveryItem:
    return DeliveryItem(
        id=d.id,
        lead_id=d.lead_id,
        job_id=d.job_id,
        state=d.state,
        attempts=d.attempts,
        client_lead_id=d.client_lead_id,
        client_status=d.client_status,
        client_flags=d.client_flags,
        last_error=d.last_error,
    )


def _out(scope: TenantScope, d: Delivery) -> DeliveryDetail:
    attempts = repository.attempts(scope, [d.id])
    return DeliveryDetail(
        **_item(d).model_dump(),
        attempt_log=[
            AttemptOut(
                at=a.at,
                status_code=a.status_code,
                outcome=a.outcome,
                error=a.error,
                duration_ms=a.duration_ms,
            )
            for a in attempts
        ],
    )


@router.post("/connect/field-mapping")
def field_mapping(
    body: MappingRequest, request: Request, caller: Admin, session: DbSession
) -> dict[str, Any]:
    """The client's form fields beside ours, with suggested pairs and remaining problems."""
    scope = TenantScope(session, caller.instance_id)
    config = body.model_dump(exclude={"campaign_id"})
    return service.field_mapping_view(scope, config, body.campaign_id, request.app.state.settings)


@router.get("/campaigns/{campaign_id}/jobs/{job_id}/connection", response_model=ConnectionOut)
def connection(campaign_id: Id, job_id: Id, caller: Admin, session: DbSession) -> ConnectionOut:
    """The delivery connection: open or paused, the client's form, mapping problems, counts."""
    scope = TenantScope(session, caller.instance_id)
    return _connection_out(scope, service.delivery_job(scope, campaign_id, job_id))


@router.patch("/campaigns/{campaign_id}/jobs/{job_id}/connection", response_model=ConnectionOut)
def patch_connection(
    campaign_id: Id, job_id: Id, body: ConnectionPatch, caller: Admin, session: DbSession
) -> ConnectionOut:
    """Follow the client's verdicts or only record them; pause or resume (drains in order)."""
    scope = TenantScope(session, caller.instance_id)
    job = service.delivery_job(scope, campaign_id, job_id)
    conn = _connection(scope, job)
    if body.follow_client_status is not None:
        conn.follow_client_status = body.follow_client_status
    if body.paused is True:
        service.pause(scope, job.id, "paused by a user")
    elif body.paused is False:
        service.resume(scope, job.id)
    session.flush()
    return _connection_out(scope, job)


@router.post(
    "/campaigns/{campaign_id}/jobs/{job_id}/connection/refresh-fields", response_model=ConnectionOut
)
def refresh_fields(
    campaign_id: Id, job_id: Id, request: Request, caller: Admin, session: DbSession
) -> ConnectionOut:
    """Pull the client's form again (after the client changed it)."""
    scope = TenantScope(session, caller.instance_id)
    job = service.delivery_job(scope, campaign_id, job_id)
    service.refresh_fields(session, job, request.app.state.settings)
    return _connection_out(scope, job)


@router.get("/deliveries", response_model=Page[DeliveryItem])
def list_deliveries(
    caller: Admin,
    session: DbSession,
    campaign_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    state: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: str | None = None,
) -> Page[DeliveryItem]:
    """Deliveries, newest first; filter by campaign and state (e.g. `dead`); the attempts of
    one are in `GET /deliveries/{id}`."""
    scope = TenantScope(session, caller.instance_id)
    return repository.page(
        scope, _item, campaign_id=campaign_id, state=state, limit=limit, cursor=cursor
    )


@router.get("/deliveries/{delivery_id}", response_model=DeliveryDetail)
def get_delivery(delivery_id: Id, caller: Admin, session: DbSession) -> DeliveryDetail:
    """One delivery with every attempt."""
    scope = TenantScope(session, caller.instance_id)
    d = repository.get(scope, delivery_id)
    return _out(scope, d)


@router.post("/deliveries/{delivery_id}/retry", response_model=DeliveryDetail)
def retry_delivery(delivery_id: Id, caller: Admin, session: DbSession) -> DeliveryDetail:
    """Retry a dead (or held) delivery now."""
    scope = TenantScope(session, caller.instance_id)
    return _out(scope, service.retry_delivery(scope, delivery_id))


@router.post("/campaigns/{campaign_id}/deliveries/retry")
def retry_dead(campaign_id: Id, caller: Admin, session: DbSession) -> dict[str, int]:
    """Retry every dead delivery of a campaign."""
    scope = TenantScope(session, caller.instance_id)
    return {"retried": service.retry_dead(scope, campaign_id)}


@router.post("/connect/lead-events/{job_id}", status_code=204)
async def receive_status(
    subdomain: str, job_id: Id, request: Request, session: DbSession
) -> Response:
    """Signed `lead.status_changed` events from the client (Standard Webhooks)."""
    return await receive_signed(subdomain, job_id, request, session, service.receive_status_event)
