"""Queries on the Processr jobs of campaigns (and the grants their events go to).

Every function reads through the instance's scope but
`active_campaign_jobs_of_every_instance`, which start-up code runs across instances.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from leadgate.campaigns.models import Campaign
from leadgate.kit.repository import TenantScope
from leadgate.processr.models import ProcessrJob


def campaign_jobs(scope: TenantScope, campaign_id: int) -> Sequence[ProcessrJob]:
    """The campaign's jobs, in no particular order."""
    return scope.session.scalars(
        scope.select(ProcessrJob).where(ProcessrJob.campaign_id == campaign_id)
    ).all()


def find_job(scope: TenantScope, campaign_id: int, job_id: int) -> ProcessrJob | None:
    """A job of this campaign, or None."""
    return scope.session.scalars(
        scope.select(ProcessrJob).where(
            ProcessrJob.id == job_id, ProcessrJob.campaign_id == campaign_id
        )
    ).one_or_none()


def last_position(scope: TenantScope, campaign_id: int) -> int:
    """The highest position among the campaign's jobs (0 without jobs)."""
    last = scope.session.scalar(
        select(func.coalesce(func.max(ProcessrJob.position), 0)).where(
            ProcessrJob.instance_id == scope.instance_id, ProcessrJob.campaign_id == campaign_id
        )
    )
    return last or 0


def job_ids_using_list(scope: TenantScope, list_id: int) -> list[int]:
    """Ids of the jobs whose config points at this list."""
    rows = scope.session.scalars(
        select(ProcessrJob.id).where(
            ProcessrJob.instance_id == scope.instance_id,
            ProcessrJob.config["list_id"].as_integer() == list_id,
        )
    )
    return list(rows)


def jobs_of_type_using_list(
    scope: TenantScope, job_type: str, list_id: int
) -> Sequence[ProcessrJob]:
    """The jobs of this type whose config points at this list, by id."""
    return scope.session.scalars(
        scope.select(ProcessrJob)
        .where(
            ProcessrJob.type == job_type,
            ProcessrJob.config["list_id"].as_integer() == list_id,
        )
        .order_by(ProcessrJob.id)
    ).all()


def visible_jobs(
    scope: TenantScope, campaign_id: int, types: Collection[str], job_type: str | None = None
) -> list[ProcessrJob]:
    """The campaign's jobs of these types visible to publishers, by position."""
    query = scope.select(ProcessrJob).where(
        ProcessrJob.campaign_id == campaign_id,
        ProcessrJob.visible_to_publishers.is_(True),
        ProcessrJob.type.in_(types),
    )
    if job_type is not None:
        query = query.where(ProcessrJob.type == job_type)
    return list(scope.session.scalars(query.order_by(ProcessrJob.position, ProcessrJob.id)))


def visible_jobs_using_list(
    scope: TenantScope, list_id: int, types: Collection[str]
) -> Sequence[ProcessrJob]:
    """The jobs of these types visible to publishers whose config points at this list."""
    return scope.session.scalars(
        scope.select(ProcessrJob).where(
            ProcessrJob.type.in_(types),
            ProcessrJob.visible_to_publishers.is_(True),
            ProcessrJob.config["list_id"].as_integer() == list_id,
        )
    ).all()


def active_campaign_jobs_of_every_instance(session: Session) -> Sequence[ProcessrJob]:
    """Across instances: the jobs of every active campaign, by instance."""
    return session.scalars(
        select(ProcessrJob)
        .join(Campaign, Campaign.id == ProcessrJob.campaign_id)
        .where(Campaign.status == "active")
        .order_by(ProcessrJob.instance_id)
    ).all()


def job_labels(scope: TenantScope, job_ids: Sequence[int]) -> dict[int, str]:
    """The current labels of those of these Processr jobs that still exist in this instance."""
    if not job_ids:
        return {}
    rows = scope.session.execute(
        select(ProcessrJob.id, ProcessrJob.label).where(
            ProcessrJob.instance_id == scope.instance_id, ProcessrJob.id.in_(job_ids)
        )
    ).all()
    return {r.id: r.label for r in rows}


def touch_inputs(scope: TenantScope, job_id: int) -> None:
    """Move the job's inputs version (what it reads besides its config changed), so every
    process rebuilds the campaign's judging view with its next lead; the definition (`version`,
    `updated_at`) stays as it is."""
    scope.session.execute(
        update(ProcessrJob)
        .where(ProcessrJob.id == job_id, ProcessrJob.instance_id == scope.instance_id)
        .values(inputs_version=ProcessrJob.inputs_version + 1, updated_at=ProcessrJob.updated_at)
        .execution_options(synchronize_session=False)
    )


def jobs_of_types_any_instance(session: Session, types: Collection[str]) -> Sequence[ProcessrJob]:
    """Cross-instance (re-sealing every stored secret): every job of these types."""
    return session.scalars(select(ProcessrJob).where(ProcessrJob.type.in_(types))).all()
