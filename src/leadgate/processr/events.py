"""What publishers hear about the jobs they may mirror: job.updated and job.deleted."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select

from leadgate.campaigns.models import CampaignPublisher
from leadgate.kit.repository import TenantScope
from leadgate.lists.models import ValidationList
from leadgate.processr.models import ProcessrJob
from leadgate.processr.registry import REGISTRY
from leadgate.webhooks.service import emit


def mirrorable() -> frozenset[str]:
    """The job types publishers may see (and so mirror)."""
    return REGISTRY.names(publishable=True)


def granted_publishers(scope: TenantScope, campaign_id: int) -> list[int]:
    """Publishers that may see the campaign."""
    return list(
        scope.session.scalars(
            select(CampaignPublisher.publisher_id).where(
                CampaignPublisher.instance_id == scope.instance_id,
                CampaignPublisher.campaign_id == campaign_id,
            )
        )
    )


def list_version(scope: TenantScope, job: ProcessrJob) -> int | None:
    """The version of the job's list, for list jobs."""
    found = REGISTRY.find(job.type)
    list_ids = found.list_ids(found.config_model.model_validate(job.config)) if found else ()
    if len(list_ids) != 1:
        return None
    (list_id,) = list_ids
    return scope.session.scalar(
        select(ValidationList.version).where(
            ValidationList.id == list_id, ValidationList.instance_id == scope.instance_id
        )
    )


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
    targets = granted_publishers(scope, job.campaign_id) if publishers is None else publishers
    emit(scope, targets, "job.updated", data)


def deleted(scope: TenantScope, job: ProcessrJob, publishers: Iterable[int] | None = None) -> None:
    """The job is gone for publishers: deleted, hidden, or their grant revoked."""
    if job.type not in mirrorable():
        return
    targets = granted_publishers(scope, job.campaign_id) if publishers is None else publishers
    emit(scope, targets, "job.deleted", {"campaign_id": job.campaign_id, "job_id": job.id})


def list_changed(scope: TenantScope, list_id: int) -> None:
    """A list's values changed: every visible job using it is updated."""
    jobs = scope.session.scalars(
        scope.select(ProcessrJob).where(
            ProcessrJob.type.in_(mirrorable()),
            ProcessrJob.visible_to_publishers.is_(True),
            ProcessrJob.config["list_id"].as_integer() == list_id,
        )
    ).all()
    for job in jobs:
        updated(scope, job)


def grant_changed(scope: TenantScope, campaign_id: int, publisher_id: int, granted: bool) -> None:
    """A publisher gained or lost a campaign: its mirrors of the visible jobs follow."""
    jobs = scope.session.scalars(
        scope.select(ProcessrJob).where(
            ProcessrJob.campaign_id == campaign_id,
            ProcessrJob.visible_to_publishers.is_(True),
            ProcessrJob.type.in_(mirrorable()),
        )
    ).all()
    for job in jobs:
        if granted:
            updated(scope, job, [publisher_id])
        else:
            deleted(scope, job, [publisher_id])
