"""Judging a lead with its campaign's Processr, against compiled lists cached per version."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from leadgate.config import Settings, get_settings
from leadgate.connect import context as mirror_context
from leadgate.connect.context import MIRROR_JOB_TYPES
from leadgate.jobs.base import JobContext
from leadgate.jobs.connect_mirror import MirrorView
from leadgate.kit.repository import TenantScope
from leadgate.leads.models import Lead
from leadgate.leads.service import record
from leadgate.lists.matcher import CompiledList, MatcherCache
from leadgate.lists.models import ValidationList
from leadgate.lists.service import ListMoved, values_at
from leadgate.processr.engine import GroupCondition, JobSpec, Verdict
from leadgate.processr.engine import judge as decide
from leadgate.processr.models import ProcessrJob
from leadgate.processr.service import jobs_of

# One cache per process; entries are keyed by (list id, version), so a changed list is
# recompiled on first use and every process of a deployment converges by itself.
MATCHERS = MatcherCache()


class DbContext:
    """What jobs may read while judging: the instance's lists and mirrors, compiled and cached."""

    def __init__(
        self,
        session: Session,
        instance_id: int,
        list_ids: set[int],
        mirrors: dict[tuple[str, int, int], MirrorView] | None = None,
    ) -> None:
        self.session = session
        self.mirrors = mirrors or {}
        rows = session.execute(
            select(ValidationList.id, ValidationList.name, ValidationList.version).where(
                ValidationList.instance_id == instance_id, ValidationList.id.in_(list_ids)
            )
        ).all()
        self._lists = {r[0]: (r[1], r[2]) for r in rows}

    def compiled_list(self, list_id: int) -> CompiledList | None:
        for _ in range(3):
            found = self._lists.get(list_id)
            if found is None:
                return None
            version = found[1]
            try:
                return MATCHERS.get(
                    list_id, version, partial(values_at, self.session, list_id, version)
                )
            except ListMoved:
                row = self.session.get(ValidationList, list_id, populate_existing=True)
                if row is None:
                    self._lists.pop(list_id, None)
                else:
                    self._lists[list_id] = (row.name, row.version)
        return None

    def list_name(self, list_id: int) -> str:
        found = self._lists.get(list_id)
        return found[0] if found else f"#{list_id}"

    def mirror(self, subdomain: str, campaign_id: int, job_id: int) -> MirrorView | None:
        return self.mirrors.get((subdomain, campaign_id, job_id))


def to_spec(job: ProcessrJob) -> JobSpec:
    """The engine's view of a stored job."""
    condition = None
    if job.condition:
        condition = GroupCondition(field=job.condition["field"], values=job.condition["values"])
    return JobSpec(
        id=job.id,
        type=job.type,
        config=job.config,
        score=job.score,
        hardfail=job.hardfail,
        position=job.position,
        tab=job.tab,  # type: ignore[arg-type]
        group=job.group_name,
        condition=condition,
        catch_all=job.catch_all,
    )


def context_for(
    session: Session, instance_id: int, jobs: list[ProcessrJob], settings: Settings | None = None
) -> JobContext:
    """A context holding every list and mirror these jobs use."""
    list_ids = {j.config["list_id"] for j in jobs if isinstance(j.config.get("list_id"), int)}
    mirror_jobs = [j.id for j in jobs if j.type in MIRROR_JOB_TYPES]
    staleness = (settings or get_settings()).connect_max_staleness_s
    mirrors = mirror_context.load(session, mirror_jobs, staleness) if mirror_jobs else {}
    return DbContext(session, instance_id, list_ids, mirrors)


def judge(scope: TenantScope, lead: Lead, reason: str = "received") -> Verdict:
    """Run the campaign's Processr on the lead and store the outcome and its history."""
    jobs = jobs_of(scope, lead.campaign_id)
    verdict = decide(
        lead.data, [to_spec(j) for j in jobs], context_for(scope.session, scope.instance_id, jobs)
    )
    apply_verdict(scope, lead, verdict, trigger=reason)
    return verdict


def apply_verdict(scope: TenantScope, lead: Lead, verdict: Verdict, *, trigger: str) -> None:
    """Store a verdict on the lead, with history entries for the judging and any status change."""
    previous = lead.status
    was_judged = lead.judged_at is not None
    lead.status = verdict.status
    lead.score = verdict.score
    lead.max_score = verdict.max_score
    lead.flags = [asdict(f) for f in verdict.flags]
    lead.jobs = [asdict(j) for j in verdict.jobs]
    lead.judged_at = datetime.now(UTC)
    detail: dict[str, Any] = {
        "trigger": trigger,
        "status": verdict.status,
        "score": verdict.score,
        "max_score": verdict.max_score,
        "reason": verdict.reason,
    }
    if verdict.waiting_job_ids:
        detail["waiting_for_jobs"] = verdict.waiting_job_ids
    still_waiting = previous == "pending" and verdict.status == "pending" and was_judged
    if not still_waiting:  # a lead re-checked while it keeps waiting adds no history
        record(scope, lead, "judged" if verdict.status != "pending" else "waiting", **detail)
    if verdict.integration_job_ids and verdict.status in ("valid", "test"):
        from leadgate.connect.delivery import create_for

        create_for(scope.session, lead, verdict.integration_job_ids)
    if previous != verdict.status:
        record(
            scope,
            lead,
            "status_changed",
            **{"from": previous, "to": verdict.status, "reason": verdict.reason, "by": "processr"},
        )
    scope.session.flush()


def unjudged(session: Session, older_than: timedelta, limit: int = 500) -> list[Lead]:
    """Leads the Processr never finished (a crash between accepting and judging)."""
    cutoff = datetime.now(UTC) - older_than
    return list(
        session.scalars(
            select(Lead)
            .where(Lead.judged_at.is_(None), Lead.created_at < cutoff)
            .order_by(Lead.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
