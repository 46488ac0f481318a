"""What publishers hear about the jobs they may mirror: job.updated and job.deleted."""

from __future__ import annotations

from collections.abc import Iterable

from leadgate.campaigns import repository as campaigns
from leadgate.kit.repository import TenantScope
from leadgate.lists import repository as list_repository
from leadgate.processr import repository
from leadgate.processr.models import ProcessrJob
from leadgate.processr.registry import REGISTRY, only_list_id
from leadgate.webhooks.service import emit


def mirrorable() -> frozenset[str]:
    """The job types publishers may see (and so mirror)."""
    return REGISTRY.names(publishable=True)


def list_version(scope: TenantScope, job: ProcessrJob) -> int | None:
    """The version of the job's list, for list jobs."""
    list_id = only_list_id(job.type, job.config)
    return None if list_id is None else list_repository.version_of(scope, list_id)


def updated(scope: TenantScope, job: ProcessrJob, publishers: Iterable[int] | None = None) -> None:
    """The job's definition or its list changed (or it became visible): mirrors should pull."""
    if job.type not in mirrorable() or not job.visible_to_publishers:
        return
    data = {
        "campaign_id": job.campaign_id,
        "job_id": job.id,
        "version": job.version,
        "list_version": list_version(scope, job),
    }
    targets = (
        campaigns.granted_publisher_ids(scope, job.campaign_id)
        if publishers is None
        else publishers
    )
    emit(scope, targets, "job.updated", data)


def deleted(scope: TenantScope, job: ProcessrJob, publishers: Iterable[int] | None = None) -> None:
    """The job is gone for publishers: deleted, hidden, or their grant revoked."""
    if job.type not in mirrorable():
        return
    targets = (
        campaigns.granted_publisher_ids(scope, job.campaign_id)
        if publishers is None
        else publishers
    )
    emit(scope, targets, "job.deleted", {"campaign_id": job.campaign_id, "job_id": job.id})


def list_changed(scope: TenantScope, list_id: int) -> None:
    """A list's values changed: every visible job using it is updated."""
    for job in repository.visible_jobs_using_list(scope, list_id, mirrorable()):
        updated(scope, job)


def grant_changed(scope: TenantScope, campaign_id: int, publisher_id: int, granted: bool) -> None:
    """A publisher gained or lost a campaign: its mirrors of the visible jobs follow."""
    for job in repository.visible_jobs(scope, campaign_id, mirrorable()):
        if granted:
            updated(scope, job, [publisher_id])
        else:
            deleted(scope, job, [publisher_id])
