"""Admin API: job types and the jobs of a campaign's Processr."""

from __future__ import annotations

from fastapi import APIRouter, Response

from leadgate.campaigns import service as campaigns
from leadgate.instances.deps import Admin, AppSettings, DbSession
from leadgate.kit.pagination import Page
from leadgate.kit.params import Id
from leadgate.kit.problems import problem_responses
from leadgate.kit.repository import TenantScope
from leadgate.processr import options, service
from leadgate.processr.models import ProcessrJob
from leadgate.processr.options import OptionsOut, OptionsRequest
from leadgate.processr.registry import REGISTRY, describe
from leadgate.processr.schemas import JobCreate, JobOut, JobPatch, JobTypeOut, Reorder

router = APIRouter(tags=["processr"], responses=problem_responses(401, 404, 413, 422))


@router.get("/job-types", response_model=list[JobTypeOut])
def job_types(caller: Admin) -> list[JobTypeOut]:
    """Every job type with its tab and config JSON Schema (forms are generated from it)."""
    return [JobTypeOut.model_validate(describe(t)) for t in REGISTRY.all_types()]


@router.post("/job-types/{job_type}/options", response_model=OptionsOut)
def job_type_options(
    job_type: str, body: OptionsRequest, caller: Admin, session: DbSession, settings: AppSettings
) -> OptionsOut:
    """Choices for a dropdown of a job's config, given the config filled in so far."""
    scope = TenantScope(session, caller.instance_id)
    return OptionsOut(options=options.options(scope, job_type, body, settings))


@router.post("/campaigns/{campaign_id}/jobs", status_code=201, response_model=JobOut)
def create_job(
    campaign_id: Id, body: JobCreate, caller: Admin, session: DbSession, settings: AppSettings
) -> JobOut:
    """Add a job to the campaign's Processr."""
    scope = TenantScope(session, caller.instance_id)
    job = service.create(scope, campaign_id, body, settings)
    return service.to_out(job, service.warnings_of(scope, job))


@router.get("/campaigns/{campaign_id}/jobs", response_model=Page[JobOut])
def list_jobs(campaign_id: Id, caller: Admin, session: DbSession) -> Page[JobOut]:
    """The campaign's jobs in running order."""
    scope = TenantScope(session, caller.instance_id)
    campaigns.get(scope, campaign_id)
    return _page(service.jobs_of(scope, campaign_id))


def _page(jobs: list[ProcessrJob]) -> Page[JobOut]:
    warnings = service.warnings_in(jobs)
    return Page[JobOut](items=[service.to_out(j, warnings.get(j.id, ())) for j in jobs])


@router.get("/campaigns/{campaign_id}/jobs/{job_id}", response_model=JobOut)
def get_job(campaign_id: Id, job_id: Id, caller: Admin, session: DbSession) -> JobOut:
    """One job."""
    scope = TenantScope(session, caller.instance_id)
    job = service.get(scope, campaign_id, job_id)
    return service.to_out(job, service.warnings_of(scope, job))


@router.patch("/campaigns/{campaign_id}/jobs/{job_id}", response_model=JobOut)
def patch_job(
    campaign_id: Id,
    job_id: Id,
    body: JobPatch,
    caller: Admin,
    session: DbSession,
    settings: AppSettings,
) -> JobOut:
    """Change a job's config, score, hardfail, visibility, position or group."""
    scope = TenantScope(session, caller.instance_id)
    job = service.update(scope, campaign_id, job_id, body, settings)
    return service.to_out(job, service.warnings_of(scope, job))


@router.post("/campaigns/{campaign_id}/jobs/reorder", response_model=Page[JobOut])
def reorder_jobs(campaign_id: Id, body: Reorder, caller: Admin, session: DbSession) -> Page[JobOut]:
    """Put the campaign's jobs in the given order."""
    scope = TenantScope(session, caller.instance_id)
    return _page(list(service.reorder(scope, campaign_id, body.job_ids)))


@router.delete("/campaigns/{campaign_id}/jobs/{job_id}", status_code=204)
def delete_job(campaign_id: Id, job_id: Id, caller: Admin, session: DbSession) -> Response:
    """Remove a job from the Processr."""
    service.delete(TenantScope(session, caller.instance_id), campaign_id, job_id)
    return Response(status_code=204)
