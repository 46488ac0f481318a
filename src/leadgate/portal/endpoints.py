"""Publisher API (publisher key): campaigns, visible jobs and their values, leads, webhooks."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator
from sqlalchemy.orm import Session
from starlette.types import ASGIApp, Receive, Scope, Send

from leadgate.campaigns import service as campaigns
from leadgate.campaigns.models import Campaign
from leadgate.campaigns.schemas import CampaignSummary, FormField
from leadgate.errors import InvalidRequest, NotFound
from leadgate.instances.deps import DbSession, Publisher, bearer, publisher_only
from leadgate.instances.service import Caller, authenticate
from leadgate.kit import problems
from leadgate.kit.pagination import Page
from leadgate.kit.params import MAX_ID, Id
from leadgate.kit.problems import problem_responses
from leadgate.kit.repository import TenantScope
from leadgate.leads import service as leads
from leadgate.leads.intake import LeadIntake, Submission
from leadgate.leads.schemas import LeadSubmit, PublisherLeadOut
from leadgate.peer import hops as delivery_path
from leadgate.processr import publisher_view as view
from leadgate.processr.events import mirrorable
from leadgate.webhooks import service as webhooks
from leadgate.webhooks.schemas import SubscriptionCreate, SubscriptionCreated, SubscriptionOut

router = APIRouter(
    prefix="/publisher",
    tags=["publisher API"],
    responses=problem_responses(401, 404, 413, 422, 429),
)


def _publisher_id(caller: Caller) -> int:
    assert caller.publisher_id is not None
    return caller.publisher_id


def granted_campaign(scope: TenantScope, caller: Caller, campaign_id: Id) -> Campaign:
    """A campaign granted to the calling publisher; any other is 404 campaign_not_found."""
    if campaign_id not in campaigns.granted_ids(scope, _publisher_id(caller)):
        raise NotFound(f"No campaign {campaign_id} for this key.", code="campaign_not_found")
    return campaigns.get(scope, campaign_id)


@router.get("/campaigns", response_model=Page[CampaignSummary])
def list_granted(caller: Publisher, session: DbSession) -> Page[CampaignSummary]:
    """Campaigns this publisher key may send leads into."""
    scope = TenantScope(session, caller.instance_id)
    rows = campaigns.granted(scope, _publisher_id(caller))
    return Page[CampaignSummary](
        items=[CampaignSummary(id=c.id, name=c.name, status=c.status) for c in rows]
    )


@router.get("/campaigns/{campaign_id}/fields", response_model=Page[FormField])
def campaign_fields(campaign_id: Id, caller: Publisher, session: DbSession) -> Page[FormField]:
    """The form of a granted campaign."""
    campaign = granted_campaign(TenantScope(session, caller.instance_id), caller, campaign_id)
    return Page[FormField](items=[FormField.model_validate(f) for f in campaign.fields])


@router.get("/campaigns/{campaign_id}/jobs", response_model=Page[view.PublisherJob])
def visible_jobs(
    campaign_id: Id,
    caller: Publisher,
    session: DbSession,
    type: Annotated[
        str | None,
        Query(max_length=64, description="Only jobs of this type, e.g. `validation_list`."),
    ] = None,
) -> Page[view.PublisherJob]:
    """The jobs the client made visible to publishers (list and simple conditional checks)."""
    if type is not None and type not in mirrorable():
        shared = ", ".join(sorted(mirrorable()))
        raise InvalidRequest(
            f"Publishers see jobs of the types {shared}, not {type!r}.",
            errors=[{"loc": ["query", "type"], "msg": f"one of {shared}", "type": "enum"}],
        )
    scope = TenantScope(session, caller.instance_id)
    granted_campaign(scope, caller, campaign_id)
    jobs = view.visible_jobs(scope, campaign_id, type)
    return Page[view.PublisherJob](items=[view.summary(scope, j) for j in jobs])


@router.get(
    "/campaigns/{campaign_id}/jobs/{job_id}",
    response_model=view.PublisherJobDefinition,
    responses={304: {"description": "Not modified since the ETag sent in If-None-Match."}},
)
def job_definition(
    campaign_id: Id,
    job_id: Id,
    caller: Publisher,
    session: DbSession,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    """A visible job's full definition, with an ETag; 404 job_gone once deleted or hidden."""
    scope = TenantScope(session, caller.instance_id)
    granted_campaign(scope, caller, campaign_id)
    defn = view.definition(scope, view.visible_job(scope, campaign_id, job_id))
    tag = view.etag(defn)
    if if_none_match and tag in [t.strip() for t in if_none_match.split(",")]:
        return Response(status_code=304, headers={"ETag": tag})
    return JSONResponse(view.definition_body(defn), headers={"ETag": tag})


@router.get(
    "/campaigns/{campaign_id}/jobs/{job_id}/values",
    responses={200: {"description": "`mode: delta` (added/removed) or `mode: full` (values)."}},
)
def job_values(
    campaign_id: Id,
    job_id: Id,
    request: Request,
    caller: Publisher,
    session: DbSession,
    since: Annotated[int | None, Query(ge=0, description="The version the mirror holds.")] = None,
) -> Response:
    """List values: the delta since version `since` when the change log covers it, else all.

    A private list answers keyed hashes instead (`added` / `removed` / `values`) with
    `encoding: {scheme: "hmac-sha256", key_id, normalise, key, max_length}`.
    """
    scope = TenantScope(session, caller.instance_id)
    granted_campaign(scope, caller, campaign_id)
    job = view.visible_job(scope, campaign_id, job_id)
    row = view.list_of(scope, job)
    # A private list answers keyed hashes only, made the way this job compares.
    normalise = view.normalise_of(view.definition(scope, job))
    if row.private:
        hashed = view.private_delta(scope, row, since, normalise)
        if hashed is not None:
            return JSONResponse(hashed)
    else:
        delta = view.delta(scope, row, since)
        if delta is not None:
            return JSONResponse(view.delta_body(delta))
    return StreamingResponse(
        view.full_snapshot(request.app.state.engine, row.id, normalise),
        media_type="application/json",
    )


# The hot path reads its request itself: FastAPI's per-parameter machinery cost ~30% of the
# route's framework time. The parameters are declared for the OpenAPI document below and
# checked by `_submission` with the same rules and the same 422 answers.
_CAMPAIGN_ID: TypeAdapter[int] = TypeAdapter(Annotated[int, Field(ge=1, le=MAX_ID)])
_IDEMPOTENCY_KEY: TypeAdapter[str] = TypeAdapter(Annotated[str, Field(max_length=200)])
_LEAD_PARAMETERS = [
    {"name": "subdomain", "in": "path", "required": True, "schema": {"type": "string"}},
    {
        "name": "campaign_id",
        "in": "path",
        "required": True,
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
    },
    {"name": "authorization", "in": "header", "required": False, "schema": {"type": "string"}},
    {
        "name": "idempotency-key",
        "in": "header",
        "required": False,
        "schema": {"type": "string", "maxLength": 200},
        "description": "The same key and body again answer the same lead (200); "
        "another body with the key answers 409. An empty key is no key.",
    },
    {
        "name": delivery_path.HEADER.lower(),
        "in": "header",
        "required": False,
        "schema": {"type": "string"},
        "description": "Connect deliveries: the instances the lead came through, oldest first. "
        "A lead that passed through this instance already, or more than "
        f"{delivery_path.MAX_HOPS} instances, answers 409 delivery_loop.",
    },
]


def idempotency_key(raw: str | None) -> str | None:
    """An Idempotency-Key as sent; empty (or only spaces) is no key at all."""
    return raw if raw is not None and raw.strip() else None


def _submission(request: Request, body: bytes) -> Submission:
    """The submission a request carries, or 422 invalid_request as FastAPI would answer."""
    errors: list[Any] = []
    campaign_id = key = lead = None
    try:
        campaign_id = _CAMPAIGN_ID.validate_strings(request.path_params["campaign_id"])
    except ValidationError as exc:
        errors += _located("path", "campaign_id", exc)
    raw_key = idempotency_key(request.headers.get("idempotency-key"))
    if raw_key is not None:
        try:
            key = _IDEMPOTENCY_KEY.validate_python(raw_key)
        except ValidationError as exc:
            errors += _located("header", "idempotency-key", exc)
    try:
        lead = LeadSubmit.model_validate_json(body)
    except ValidationError as exc:
        errors += _located("body", None, exc)
    if errors:
        raise RequestValidationError(errors)
    assert campaign_id is not None and lead is not None
    return Submission(
        request.path_params["subdomain"],
        bearer(request.headers.get("authorization")),
        campaign_id,
        dict(lead.data),
        key,
        delivery_path.parse(request.headers.get(delivery_path.HEADER)),
    )


def _located(where: str, name: str | None, exc: ValidationError) -> list[Any]:
    prefix = (where,) if name is None else (where, name)
    return [{**e, "loc": (*prefix, *e["loc"])} for e in exc.errors()]


@router.post(
    "/campaigns/{campaign_id}/leads",
    status_code=201,
    response_model=PublisherLeadOut,
    responses={
        200: {"description": "The same Idempotency-Key and body were sent before."},
        **problem_responses(403, 409),
    },
    openapi_extra={
        "parameters": _LEAD_PARAMETERS,
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": LeadSubmit.model_json_schema()}},
        },
    },
)
async def submit_lead(request: Request) -> Response:
    """Submit a lead; the answer carries the Processr's verdict (or `pending`).

    The lead is judged and stored (committed) before the answer is sent.
    """
    return await lead_answer(request, request.app.state.lead_intake)


async def lead_answer(request: Request, intake: LeadIntake) -> Response:
    """The answer to a lead submission (served by `LeadLane` ahead of the router)."""
    sub = _submission(request, await request.body())
    if sub.hops:
        await refuse_loop(intake.sessions, sub.subdomain, sub.secret, sub.hops)
    outcome = await intake.submit(sub)
    if isinstance(outcome, Exception):
        raise outcome
    return Response(
        outcome.lead.model_dump_json(),
        status_code=201 if outcome.created else 200,
        media_type="application/json",
    )


async def refuse_loop(
    sessions: Callable[[], Session], subdomain: str, secret: str | None, hops: tuple[str, ...]
) -> None:
    """409 delivery_loop for a delivery that came round (a wrong key still answers 401 first)."""
    refusal = delivery_path.loop(hops, subdomain)
    if refusal is None:
        return

    def check_key() -> None:
        with sessions() as session:
            publisher_only(authenticate(session, subdomain, secret))

    await run_in_threadpool(check_key)
    raise refusal


MAX_BATCH_ITEMS = 500


class BatchIn(BaseModel):
    """Up to 500 leads for one campaign, each with its own optional Idempotency-Key."""

    items: list[dict[str, Any]] = Field(
        min_length=1,
        max_length=MAX_BATCH_ITEMS,
        description="`{idempotency_key?, data}` per lead, answered in the same order.",
    )


class BatchItem(LeadSubmit):
    """One lead of a batch: what the single-lead route takes, plus its Idempotency-Key."""

    model_config = ConfigDict(extra="forbid")

    idempotency_key: str | None = Field(default=None, max_length=200)

    @field_validator("idempotency_key", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        return idempotency_key(value) if isinstance(value, str) else value


class BatchAnswer(BaseModel):
    """How one lead of a batch went: the status the single-lead route would have answered."""

    status: int = Field(description="201 stored, 200 sent before, or the problem's status.")
    lead: PublisherLeadOut | None = None
    problem: dict[str, Any] | None = None


class BatchOut(BaseModel):
    items: list[BatchAnswer]


async def _problem_of(request: Request, exc: Exception) -> BatchAnswer:
    answer = await problems.answer(request, exc)
    return BatchAnswer(status=answer.status_code, problem=json.loads(bytes(answer.body)))


@router.post(
    "/campaigns/{campaign_id}/leads/batch",
    response_model=BatchOut,
    responses=problem_responses(401, 404, 409, 413),
)
async def submit_batch(
    request: Request,
    campaign_id: Id,
    body: BatchIn,
    subdomain: str,
    authorization: Annotated[str | None, Header()] = None,
    leadgate_hops: Annotated[
        str | None,
        Header(
            description="Connect deliveries: the instances the leads came through, oldest "
            "first; a loop answers 409 delivery_loop for the whole batch."
        ),
    ] = None,
) -> BatchOut:
    """Submit up to 500 leads at once; each is answered as `POST .../leads` would answer it.

    Every lead is judged and stored by the same intake as single leads, on its own: one that is
    refused (unknown field, replayed key with another body, rate limit) leaves its neighbours
    stored. The answer comes once every stored lead is committed; each lead counts once against
    the rate limit.
    """
    secret = bearer(authorization)
    sessions = request.app.state.sessions
    path = delivery_path.parse(leadgate_hops)

    def check_key() -> None:  # a wrong key is the batch's problem, not each lead's
        with sessions() as session:
            publisher_only(authenticate(session, subdomain, secret))

    await run_in_threadpool(check_key)
    refusal = delivery_path.loop(path, subdomain)
    if refusal is not None:  # one path for the whole request: the batch's problem too
        raise refusal
    intake: LeadIntake = request.app.state.lead_intake
    slots: list[BatchAnswer | None] = []
    subs: list[Submission] = []
    for raw in body.items:
        try:
            item = BatchItem.model_validate(raw)
        except ValidationError as exc:
            errors = _located("body", None, exc)
            slots.append(await _problem_of(request, RequestValidationError(errors)))
            continue
        slots.append(None)
        subs.append(
            Submission(subdomain, secret, campaign_id, dict(item.data), item.idempotency_key, path)
        )
    outcomes = iter(await asyncio.gather(*(intake.submit(sub) for sub in subs)))
    answers = []
    for slot in slots:
        if slot is not None:
            answers.append(slot)
            continue
        outcome = next(outcomes)
        if isinstance(outcome, Exception):
            answers.append(await _problem_of(request, outcome))
        else:
            answers.append(BatchAnswer(status=201 if outcome.created else 200, lead=outcome.lead))
    return BatchOut(items=answers)


class LeadLane:
    """Lead submissions straight to the intake, ahead of routing and FastAPI's request handling.

    The hot path's own ASGI lane: on this 2-vCPU VM routing plus FastAPI's per-request work was
    ~0.2 ms of the route's ~1 ms of CPU. It answers exactly what `submit_lead` (the route, kept for
    the OpenAPI document and for apps without the lane) answers: same function, same errors.
    Installed inside the body-size limit and Host routing, so both still apply, and outside gzip.
    """

    def __init__(self, app: ASGIApp, *, intake: Callable[[], LeadIntake], prefix: str) -> None:
        self.app = app
        self.intake = intake
        self.path = re.compile(
            "^"
            + prefix.replace("{subdomain}", "(?P<subdomain>[^/]+)")
            + "/publisher/campaigns/(?P<campaign_id>[^/]+)/leads$"
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        match = self.path.match(scope["path"]) if scope["type"] == "http" else None
        if match is None or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        scope["path_params"] = match.groupdict()
        request = Request(scope, receive)
        try:
            response = await lead_answer(request, self.intake())
        except Exception as exc:
            response = await problems.answer(request, exc)
        await response(scope, receive, send)


@router.get("/leads/{lead_id}", response_model=PublisherLeadOut)
def lead_status(lead_id: Id, caller: Publisher, session: DbSession) -> PublisherLeadOut:
    """Status, score and flags of one of your leads."""
    scope = TenantScope(session, caller.instance_id)
    return leads.to_publisher_out(leads.publisher_lead(scope, _publisher_id(caller), lead_id))


@router.post("/webhooks", status_code=201, response_model=SubscriptionCreated)
def create_webhook(
    body: SubscriptionCreate, request: Request, caller: Publisher, session: DbSession
) -> SubscriptionCreated:
    """Subscribe a URL to events; the secret to verify signatures is shown only here."""
    scope = TenantScope(session, caller.instance_id)
    return webhooks.subscribe(scope, _publisher_id(caller), body, request.app.state.settings)


@router.get("/webhooks", response_model=Page[SubscriptionOut])
def list_webhooks(caller: Publisher, session: DbSession) -> Page[SubscriptionOut]:
    """Your webhook subscriptions."""
    scope = TenantScope(session, caller.instance_id)
    subs = webhooks.of_publisher(scope, _publisher_id(caller))
    return Page[SubscriptionOut](items=[webhooks.to_out(s) for s in subs])


@router.delete("/webhooks/{webhook_id}", status_code=204)
def delete_webhook(webhook_id: Id, caller: Publisher, session: DbSession) -> Response:
    """Unsubscribe."""
    webhooks.unsubscribe(
        TenantScope(session, caller.instance_id), _publisher_id(caller), webhook_id
    )
    return Response(status_code=204)
