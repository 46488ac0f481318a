"""Judging a lead with its campaign's Processr, against compiled lists cached per version."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from leadgate.campaigns.models import Campaign
from leadgate.config import get_settings
from leadgate.connect import context as mirror_context
from leadgate.connect.context import MIRROR_JOB_TYPES
from leadgate.jobs.connect_mirror import MirrorView
from leadgate.jobs.registry import REGISTRY, UnknownJobType
from leadgate.jobs.validation_list import ValidationListConfig
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
        list_ids: Collection[int],
        mirrors: dict[tuple[str, int, int], MirrorView] | None = None,
        lists: dict[int, tuple[str, int]] | None = None,
    ) -> None:
        """`lists` (id -> (name, version)), when the caller has read them, saves a query."""
        self.session = session
        self.mirrors = mirrors or {}
        if lists is None:
            rows = session.execute(
                select(ValidationList.id, ValidationList.name, ValidationList.version).where(
                    ValidationList.instance_id == instance_id, ValidationList.id.in_(list_ids)
                )
            ).all()
            lists = {r[0]: (r[1], r[2]) for r in rows}
        self._lists = lists

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
    """The engine's view of a stored job, its config validated once per job version."""
    condition = None
    if job.condition:
        condition = GroupCondition(field=job.condition["field"], values=job.condition["values"])
    return JobSpec(
        id=job.id,
        type=job.type,
        config=_config_of(job),
        score=job.score,
        hardfail=job.hardfail,
        position=job.position,
        tab=job.tab,  # type: ignore[arg-type]
        group=job.group_name,
        condition=condition,
        catch_all=job.catch_all,
    )


# Validated configs by (job id, version, updated_at): validating ten configs cost more than
# running the ten jobs. A config that does not validate is kept raw, and the engine fails the
# job with its reason.
_CONFIGS: dict[tuple[int, int, datetime | None], BaseModel | dict[str, Any]] = {}
_CONFIGS_MAX = 20_000


def _config_of(job: ProcessrJob) -> BaseModel | dict[str, Any]:
    key = (job.id, job.version, job.updated_at)
    found = _CONFIGS.get(key)
    if found is not None:
        return found
    try:
        config: BaseModel | dict[str, Any] = REGISTRY.get(job.type).config_model.model_validate(
            job.config
        )
    except (UnknownJobType, ValidationError):
        config = job.config
    if len(_CONFIGS) >= _CONFIGS_MAX:
        _CONFIGS.clear()
    _CONFIGS[key] = config
    return config


class ReadyContext:
    """A JobContext over lists this process has compiled already: judging without a database.

    `lists` maps list ids to (name, version) as read with the lead; `ready()` says whether every
    one of them is compiled at that version (a list that no longer exists needs nothing).
    """

    def __init__(self, lists: dict[int, tuple[str, int]]) -> None:
        self._lists = lists

    def ready(self, list_ids: Collection[int]) -> bool:
        """Whether each of these lists is compiled here at its current version."""
        return all((i, self._lists[i][1]) in MATCHERS for i in list_ids if i in self._lists)

    def compiled_list(self, list_id: int) -> CompiledList | None:
        found = self._lists.get(list_id)
        return MATCHERS.peek(list_id, found[1]) if found else None

    def list_name(self, list_id: int) -> str:
        found = self._lists.get(list_id)
        return found[0] if found else f"#{list_id}"

    def mirror(self, subdomain: str, campaign_id: int, job_id: int) -> MirrorView | None:
        return None


@dataclass(frozen=True, slots=True)
class CampaignJobs:
    """A campaign's Processr as judging needs it: specs, the lists and mirrors they read."""

    stamp: str
    specs: list[JobSpec]
    list_ids: frozenset[int]
    mirror_job_ids: tuple[int, ...]

    @classmethod
    def of(cls, jobs: list[ProcessrJob], stamp: str = "") -> CampaignJobs:
        """The judging view of these stored jobs (in running order)."""
        return cls(
            stamp=stamp,
            specs=[to_spec(j) for j in jobs],
            list_ids=frozenset(_list_ids(jobs)),
            mirror_job_ids=tuple(j.id for j in jobs if j.type in MIRROR_JOB_TYPES),
        )


# Per process, by campaign: rebuilt when the stamp (the jobs' ids and update times, read with
# the lead's campaign) differs, so every process follows a change with its next lead.
_CAMPAIGN_JOBS: dict[int, CampaignJobs] = {}


def cached_campaign_jobs(campaign_id: int, stamp: str) -> CampaignJobs | None:
    """The campaign's jobs from this process's cache, if cached at this stamp."""
    cached = _CAMPAIGN_JOBS.get(campaign_id)
    return cached if cached is not None and cached.stamp == stamp else None


def campaign_jobs(scope: TenantScope, campaign_id: int, stamp: str) -> CampaignJobs:
    """The campaign's jobs for judging, from the cache while `stamp` is unchanged."""
    cached = cached_campaign_jobs(campaign_id, stamp)
    if cached is not None:
        return cached
    jobs = jobs_of(scope, campaign_id)
    _warm(scope, jobs)
    built = CampaignJobs.of(jobs, stamp)
    if len(_CAMPAIGN_JOBS) >= _CONFIGS_MAX:
        _CAMPAIGN_JOBS.clear()
    _CAMPAIGN_JOBS[campaign_id] = built
    return built


def _warm(scope: TenantScope, jobs: list[ProcessrJob]) -> None:
    """Compile the lists the jobs read, with the lookups their operators need, before use."""
    ctx = DbContext(scope.session, scope.instance_id, _list_ids(jobs))
    for job in jobs:
        config = _config_of(job)
        if isinstance(config, ValidationListConfig):
            compiled = ctx.compiled_list(config.list_id)
            if compiled is not None:
                compiled.warm(config.operator, config.case_sensitive)


def prewarm(session: Session) -> int:
    """Compile the lists that active campaigns' jobs read; returns how many jobs were looked at.

    Run in the background when a server process starts, so its first leads are not the ones that
    wait for a million-value list to compile.
    """
    jobs = session.scalars(
        select(ProcessrJob)
        .join(Campaign, Campaign.id == ProcessrJob.campaign_id)
        .where(Campaign.status == "active")
        .order_by(ProcessrJob.instance_id)
    ).all()
    by_instance: dict[int, list[ProcessrJob]] = {}
    for job in jobs:
        by_instance.setdefault(job.instance_id, []).append(job)
    for instance_id, some in by_instance.items():
        _warm(TenantScope(session, instance_id), some)
    return len(jobs)


def _list_ids(jobs: list[ProcessrJob]) -> set[int]:
    return {j.config["list_id"] for j in jobs if isinstance(j.config.get("list_id"), int)}


def context_for(
    session: Session,
    instance_id: int,
    jobs: CampaignJobs,
    lists: dict[int, tuple[str, int]] | None = None,
) -> DbContext:
    """A context holding every list and mirror these jobs use (`lists`: see `DbContext`)."""
    staleness = get_settings().connect_max_staleness_s
    mirrors = mirror_context.load(session, jobs.mirror_job_ids, staleness)
    return DbContext(session, instance_id, jobs.list_ids, mirrors, lists)


def judge(scope: TenantScope, lead: Lead, reason: str = "received") -> Verdict:
    """Run the campaign's Processr on the lead and store the outcome and its history."""
    jobs = CampaignJobs.of(jobs_of(scope, lead.campaign_id))
    verdict = decide(lead.data, jobs.specs, context_for(scope.session, scope.instance_id, jobs))
    apply_verdict(scope, lead, verdict, trigger=reason)
    return verdict


def lead_values(verdict: Verdict) -> dict[str, Any]:
    """The lead columns a verdict sets (besides `judged_at`)."""
    return {
        "status": verdict.status,
        "score": verdict.score,
        "max_score": verdict.max_score,
        "flags": [f.as_dict() for f in verdict.flags],
        "jobs": [j.as_dict() for j in verdict.jobs],
    }


def history_for(
    previous: str, was_judged: bool, verdict: Verdict, *, trigger: str
) -> list[tuple[str, dict[str, Any]]]:
    """The history entries (event, detail) that storing a verdict adds to a lead."""
    detail: dict[str, Any] = {
        "trigger": trigger,
        "status": verdict.status,
        "score": verdict.score,
        "max_score": verdict.max_score,
        "reason": verdict.reason,
    }
    if verdict.waiting_job_ids:
        detail["waiting_for_jobs"] = verdict.waiting_job_ids
    entries: list[tuple[str, dict[str, Any]]] = []
    still_waiting = previous == "pending" and verdict.status == "pending" and was_judged
    if not still_waiting:  # a lead re-checked while it keeps waiting adds no history
        entries.append(("judged" if verdict.status != "pending" else "waiting", detail))
    if previous != verdict.status:
        change = {"from": previous, "to": verdict.status, "reason": verdict.reason}
        entries.append(("status_changed", {**change, "by": "processr"}))
    return entries


def apply_verdict(scope: TenantScope, lead: Lead, verdict: Verdict, *, trigger: str) -> None:
    """Store a verdict on the lead, with history entries for the judging and any status change."""
    entries = history_for(lead.status, lead.judged_at is not None, verdict, trigger=trigger)
    for name, value in lead_values(verdict).items():
        setattr(lead, name, value)
    lead.judged_at = datetime.now(UTC)
    for event, detail in entries:
        record(scope, lead, event, **detail)
    scope.session.flush()
    queue_deliveries(scope.session, lead, verdict)


def queue_deliveries(session: Session, lead: Lead, verdict: Verdict) -> None:
    """Delivery rows (and their tasks) for a lead that ended valid or test."""
    if verdict.integration_job_ids and verdict.status in ("valid", "test"):
        from leadgate.connect.delivery import create_for

        create_for(session, lead, verdict.integration_job_ids)


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
