"""Judging a lead with its campaign's Processr, against compiled lists cached per version."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import partial
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session

from leadgate.kit.repository import TenantScope
from leadgate.lists import repository as list_repository
from leadgate.lists.matcher import ListMatcher, MatcherCache
from leadgate.lists.service import ListMoved, compiled_at
from leadgate.processr import repository
from leadgate.processr.engine import GroupCondition, JobSpec
from leadgate.processr.models import ProcessrJob
from leadgate.processr.plugin import Claim, Earlier, JobContext, Origin, Unprobed
from leadgate.processr.registry import REGISTRY, UnknownJobType
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
        mirrors: Mapping[Any, Any] | None = None,
        lists: dict[int, tuple[str, int]] | None = None,
        max_staleness_s: float | None = None,
    ) -> None:
        """`lists` (id -> (name, version)), when the caller has read them, saves a query."""
        self.session = session
        self._scope = TenantScope(session, instance_id)
        self.mirrors = mirrors or {}
        self.max_staleness_s = max_staleness_s
        if lists is None:
            lists = list_repository.names_and_versions(self._scope, list_ids)
        self._lists = lists

    def compiled_list(self, list_id: int) -> ListMatcher | None:
        for _ in range(3):
            found = self._lists.get(list_id)
            if found is None:
                return None
            version = found[1]
            try:
                return MATCHERS.get_built(
                    list_id, version, partial(compiled_at, self._scope, list_id, version)
                )
            except ListMoved:
                row = list_repository.refreshed(self._scope, list_id)
                if row is None:
                    self._lists.pop(list_id, None)
                else:
                    self._lists[list_id] = (row.name, row.version)
        return None

    def list_name(self, list_id: int) -> str:
        found = self._lists.get(list_id)
        return found[0] if found else f"#{list_id}"

    def mirror(self, subdomain: str, campaign_id: int, job_id: int) -> Any:
        """The view of a client's job that a mirror-reading type prepared, if any."""
        return self.mirrors.get((subdomain, campaign_id, job_id))

    @property
    def origin(self) -> Origin | None:
        """A campaign's context, not one lead's."""
        return None

    def earlier(self, claim: Claim) -> Earlier | None:
        """Keys are probed per lead (`LeadContext`)."""
        raise Unprobed(claim.scope_ref)


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
    """A JobContext over what this process has cached already: judging without a database.

    `lists` maps list ids to (name, version) as read with the lead; `ready()` says whether every
    one of them is compiled at that version (a list that no longer exists needs nothing). Mirror
    views come with the campaign's cached jobs, valid for the stamp read with the lead.
    """

    def __init__(
        self,
        lists: dict[int, tuple[str, int]],
        mirrors: Mapping[Any, Any] | None = None,
        max_staleness_s: float | None = None,
    ) -> None:
        self._lists = lists
        self.mirrors = mirrors or {}
        self.max_staleness_s = max_staleness_s

    def ready(self, list_ids: Collection[int]) -> bool:
        """Whether each of these lists is compiled here at its current version."""
        return all((i, self._lists[i][1]) in MATCHERS for i in list_ids if i in self._lists)

    def compiled_list(self, list_id: int) -> ListMatcher | None:
        found = self._lists.get(list_id)
        return MATCHERS.peek(list_id, found[1]) if found else None

    def list_name(self, list_id: int) -> str:
        found = self._lists.get(list_id)
        return found[0] if found else f"#{list_id}"

    def mirror(self, subdomain: str, campaign_id: int, job_id: int) -> Any:
        """The view of a client's job cached with the campaign's jobs, if any."""
        return self.mirrors.get((subdomain, campaign_id, job_id))

    @property
    def origin(self) -> Origin | None:
        """A campaign's context, not one lead's."""
        return None

    def earlier(self, claim: Claim) -> Earlier | None:
        """Keys are probed per lead (`LeadContext`)."""
        raise Unprobed(claim.scope_ref)


class LeadContext:
    """One lead's JobContext: its campaign's, plus where the lead comes from and the earlier
    leads of the keys it claims (as the driver locked and probed them)."""

    def __init__(
        self, base: JobContext, origin: Origin, earlier: Mapping[Claim, Earlier | None]
    ) -> None:
        self._base = base
        self._origin = origin
        self._earlier = earlier

    def compiled_list(self, list_id: int) -> ListMatcher | None:
        """The campaign context's compiled list."""
        return self._base.compiled_list(list_id)

    def list_name(self, list_id: int) -> str:
        """The campaign context's list name."""
        return self._base.list_name(list_id)

    @property
    def max_staleness_s(self) -> float | None:
        """The campaign context's allowed mirror staleness."""
        found: float | None = getattr(self._base, "max_staleness_s", None)
        return found

    def mirror(self, subdomain: str, campaign_id: int, job_id: int) -> Any:
        """The campaign context's mirror view, if it has mirrors."""
        mirror = getattr(self._base, "mirror", None)
        return mirror(subdomain, campaign_id, job_id) if mirror is not None else None

    @property
    def origin(self) -> Origin | None:
        """The lead's campaign and publisher."""
        return self._origin

    def earlier(self, claim: Claim) -> Earlier | None:
        """The probe's answer for one of the lead's claims; Unprobed for any other key."""
        try:
            return self._earlier[claim]
        except KeyError:
            raise Unprobed(claim.scope_ref) from None


@dataclass(frozen=True, slots=True)
class CampaignJobs:
    """A campaign's Processr as judging needs it: specs, the lists and mirrors they read."""

    stamp: str
    specs: list[JobSpec]
    list_ids: frozenset[int]
    # Jobs whose type judges against mirrors, by type, and the views their types prepared.
    mirror_jobs: tuple[tuple[str, tuple[int, ...]], ...]
    views: Mapping[Any, Any] = field(default_factory=dict)
    # Whether some job's type rewrites lead values, and whether some job's type claims keys.
    transforms: bool = False
    claims: bool = False

    @classmethod
    def of(cls, jobs: list[ProcessrJob], stamp: str = "") -> CampaignJobs:
        """The judging view of these stored jobs (in running order), without mirror views."""
        readers = REGISTRY.names(reads_mirrors=True)
        by_type: dict[str, list[int]] = {}
        for job in jobs:
            if job.type in readers:
                by_type.setdefault(job.type, []).append(job.id)
        types = {j.type for j in jobs if j.tab != "integration"}
        return cls(
            stamp=stamp,
            specs=[to_spec(j) for j in jobs],
            list_ids=frozenset(_list_ids(jobs)),
            mirror_jobs=tuple((t, tuple(ids)) for t, ids in by_type.items()),
            transforms=bool(types & REGISTRY.names(transforms=True)),
            claims=bool(types & REGISTRY.names(claims_keys=True)),
        )

    @property
    def mirror_job_ids(self) -> tuple[int, ...]:
        """Every job that judges against a mirror."""
        return tuple(i for _, ids in self.mirror_jobs for i in ids)


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
    built = load(scope, campaign_id, stamp)
    if len(_CAMPAIGN_JOBS) >= _CONFIGS_MAX:
        _CAMPAIGN_JOBS.clear()
    _CAMPAIGN_JOBS[campaign_id] = built
    return built


def load(scope: TenantScope, campaign_id: int, stamp: str = "") -> CampaignJobs:
    """The campaign's jobs for judging, read now: lists compiled, mirror views loaded."""
    jobs = jobs_of(scope, campaign_id)
    _warm(scope, jobs)
    built = CampaignJobs.of(jobs, stamp)
    if not built.mirror_jobs:
        return built
    views: dict[Any, Any] = {}
    for type_name, ids in built.mirror_jobs:
        views.update(REGISTRY.get(type_name).load_views(scope.session, ids))
    return replace(built, views=views)


def _warm(scope: TenantScope, jobs: list[ProcessrJob]) -> None:
    """Compile the lists the jobs read, with the lookups their operators need, before use."""
    ctx = DbContext(scope.session, scope.instance_id, _list_ids(jobs))
    for job in jobs:
        config = _config_of(job)
        found = REGISTRY.find(job.type)
        if found is not None and isinstance(config, BaseModel):
            found.warm(config, ctx)


def prewarm(session: Session) -> int:
    """Compile the lists that active campaigns' jobs read; returns how many jobs were looked at.

    Run in the background when a server process starts, so its first leads are not the ones that
    wait for a million-value list to compile.
    """
    jobs = repository.active_campaign_jobs_of_every_instance(session)
    by_instance: dict[int, list[ProcessrJob]] = {}
    for job in jobs:
        by_instance.setdefault(job.instance_id, []).append(job)
    for instance_id, some in by_instance.items():
        _warm(TenantScope(session, instance_id), some)
    return len(jobs)


def _list_ids(jobs: list[ProcessrJob]) -> set[int]:
    """The lists these jobs read (a config that does not validate reads none)."""
    out: set[int] = set()
    for job in jobs:
        config = _config_of(job)
        found = REGISTRY.find(job.type)
        if found is not None and isinstance(config, BaseModel):
            out |= found.list_ids(config)
    return out


def context_for(
    session: Session,
    instance_id: int,
    jobs: CampaignJobs,
    max_staleness_s: float | None,
    lists: dict[int, tuple[str, int]] | None = None,
) -> DbContext:
    """A context holding every list and mirror these jobs use (`lists`: see `DbContext`)."""
    return DbContext(session, instance_id, jobs.list_ids, jobs.views, lists, max_staleness_s)
