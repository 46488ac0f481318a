"""Judging one lead with a campaign's Processr: job order, groups, scoring and the verdict.

Rules (DESIGN.md "The Processr"), with our choices where it is silent:

- Jobs run by tab (quality, enrichment, integration), then `position`, then `id`.
- Integration jobs are not run here: after group selection their ids are returned in
  `Verdict.integration_job_ids` for the caller to schedule when the lead ends valid (or test).
- Groups are keyed by (tab, group). In a group only the first job whose condition matches runs
  (condition values and the lead value compared trimmed and casefolded); otherwise its first
  `catch_all` job; otherwise none, and the group adds nothing to the score. A grouped job with no
  condition that is not a catch-all never runs.
- earned / max: 100% valid, at least 80% caution, below 80% invalid. When every job that ran
  scores 0, the lead is valid: zero-score jobs only leave flags.
- A failed hardfail job makes the lead invalid, even while another job is waiting: no later answer
  can change that. Otherwise any waiting job keeps the lead pending.
- No quality or enrichment job at all (no jobs, or only integration jobs): the campaign checks
  nothing, so there is nothing to fail: valid (DESIGN.md), and its integration jobs run.
- Quality or enrichment jobs, but none left after group selection: pending, for a person (the
  client set checks up that do not apply to this lead; passing it unchecked could deliver it).
- A stored config that no longer validates, or an unknown job type, fails that job with a flag
  instead of stopping the judgement.
- Flags are kept from failed jobs only.
- Before judging, the callers rewrite the lead's values with the jobs whose type `transforms`
  (`transform`: the ones the groups select for the submitted values, in running order, whatever
  their position), and collect the keys that the jobs whose type `claims_keys` claim for the
  transformed values (`claims`). Then `judge` runs every job, the transforming ones included
  (they pass and score like any job), on the transformed values, and reads the group conditions
  on those. A job whose type is unknown or whose config no longer validates transforms nothing
  and claims nothing (it fails when it runs).
"""

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from leadgate.processr.lead_values import as_text
from leadgate.processr.plugin import (
    Claim,
    Flag,
    JobContext,
    JobResult,
    JobType,
    Origin,
    Tab,
    failed,
)
from leadgate.processr.registry import REGISTRY, JobRegistry, UnknownJobType

Status = Literal["pending", "valid", "caution", "invalid"]

MISCONFIGURED = "job.misconfigured"
UNKNOWN_TYPE = "job.unknown_type"
NO_FLAG = "job.failed"
NOTHING_TO_CHECK = "no jobs: the campaign checks nothing, so the lead is valid"
CAUTION_PERCENT = 80

_TAB_ORDER: dict[str, int] = {"quality": 0, "enrichment": 1, "integration": 2}


@dataclass(frozen=True, slots=True)
class GroupCondition:
    """A grouped job runs when the lead's `field` equals one of `values` (trimmed, any case)."""

    field: str
    values: Sequence[str]

    def matches(self, data: Mapping[str, Any]) -> bool:
        """Whether the lead's field value is one of the values."""
        text = as_text(data.get(self.field)).strip().casefold()
        return bool(text) and text in {v.strip().casefold() for v in self.values}


@dataclass(frozen=True, slots=True)
class JobSpec:
    """One configured job of a campaign, as the engine needs it."""

    id: int
    type: str
    config: Mapping[str, Any] | BaseModel
    score: int = 10
    hardfail: bool = False
    position: int = 0
    tab: Tab = "quality"
    group: str | None = None
    condition: GroupCondition | None = None
    catch_all: bool = False

    def __post_init__(self) -> None:
        if self.score < 0:
            raise ValueError(f"job {self.id}: score must not be negative")


@dataclass(frozen=True, slots=True)
class FlagOut:
    """A flag on the lead, attributed to the job that raised it."""

    job_id: int
    job_type: str
    code: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (what `dataclasses.asdict` gives, without its deep copies)."""
        return {
            "job_id": self.job_id,
            "job_type": self.job_type,
            "code": self.code,
            "message": self.message,
        }


@dataclass(frozen=True, slots=True)
class JobRun:
    """A job that judged the lead."""

    job_id: int
    type: str
    passed: bool
    mirror_version: int | None = None

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data."""
        return {
            "job_id": self.job_id,
            "type": self.type,
            "passed": self.passed,
            "mirror_version": self.mirror_version,
        }


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome of judging a lead."""

    status: Status
    score: int
    max_score: int
    reason: str
    flags: list[FlagOut] = field(default_factory=list)
    jobs: list[JobRun] = field(default_factory=list)
    integration_job_ids: list[int] = field(default_factory=list)
    skipped_job_ids: list[int] = field(default_factory=list)
    waiting_job_ids: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data."""
        return asdict(self)


def judge(
    data: Mapping[str, Any],
    jobs: Sequence[JobSpec],
    ctx: JobContext,
    registry: JobRegistry = REGISTRY,
) -> Verdict:
    """Run the quality and enrichment jobs on a lead and decide its status."""
    selected, skipped = select_jobs(jobs, data)
    integration_ids = [j.id for j in selected if j.tab == "integration"]
    to_run = [j for j in selected if j.tab != "integration"]
    if not to_run:
        if any(j.tab != "integration" for j in jobs):  # checks exist, none applies: a person looks
            status: Status = "pending"
            reason = "no jobs ran: all were skipped by group conditions"
        else:  # a campaign that checks nothing has nothing to fail
            status, reason = "valid", NOTHING_TO_CHECK
        return Verdict(
            status=status,
            score=0,
            max_score=0,
            reason=reason,
            integration_job_ids=integration_ids,
            skipped_job_ids=skipped,
        )

    score = max_score = 0
    flags: list[FlagOut] = []
    runs: list[JobRun] = []
    hard_failures: list[JobSpec] = []
    waiting: list[tuple[JobSpec, JobResult]] = []
    for spec in to_run:
        result = run_job(spec, data, ctx, registry)
        if result.waiting:
            waiting.append((spec, result))
            continue
        runs.append(JobRun(spec.id, spec.type, result.passed, result.mirror_version))
        max_score += spec.score
        if result.passed:
            score += spec.score
            continue
        job_flags = result.flags or [Flag(NO_FLAG, f"The job {_title(spec, registry)} failed")]
        flags.extend(FlagOut(spec.id, spec.type, f.code, f.message) for f in job_flags)
        if spec.hardfail:
            hard_failures.append(spec)

    status, reason = _decide(score, max_score, hard_failures, waiting, registry)
    return Verdict(
        status=status,
        score=score,
        max_score=max_score,
        reason=reason,
        flags=flags,
        jobs=runs,
        integration_job_ids=integration_ids,
        skipped_job_ids=skipped,
        waiting_job_ids=[spec.id for spec, _ in waiting],
    )


def select_jobs(
    jobs: Sequence[JobSpec], data: Mapping[str, Any]
) -> tuple[list[JobSpec], list[int]]:
    """Order the jobs and apply group conditions: (jobs to run in order, ids skipped by groups)."""
    ordered = sorted(jobs, key=lambda j: (_TAB_ORDER[j.tab], j.position, j.id))
    members: dict[tuple[str, str], list[JobSpec]] = {}
    for job in ordered:
        if job.group:
            members.setdefault((job.tab, job.group), []).append(job)
    winners: set[int] = set()
    for group in members.values():
        winner = next(
            (j for j in group if not j.catch_all and j.condition and j.condition.matches(data)),
            next((j for j in group if j.catch_all), None),
        )
        if winner is not None:
            winners.add(winner.id)
    selected = [j for j in ordered if not j.group or j.id in winners]
    skipped = [j.id for j in ordered if j.group and j.id not in winners]
    return selected, skipped


def run_job(
    spec: JobSpec, data: Mapping[str, Any], ctx: JobContext, registry: JobRegistry = REGISTRY
) -> JobResult:
    """Validate a job's config and run it; a bad config or unknown type fails the job."""
    try:
        job_type = registry.get(spec.type)
    except UnknownJobType:
        return failed(UNKNOWN_TYPE, f"The job type {spec.type} is not available on this server")
    try:
        config = _config(spec, job_type)
    except ValidationError as exc:
        return failed(MISCONFIGURED, f"The job is misconfigured: {_summary(exc)}")
    return job_type.run(data, config, ctx)


@dataclass(frozen=True, slots=True)
class Transformed:
    """A lead's values after the transforming jobs, and what they changed: field -> {from, to}."""

    data: dict[str, Any]
    changes: dict[str, dict[str, Any]]


def transform(
    data: Mapping[str, Any], jobs: Sequence[JobSpec], registry: JobRegistry = REGISTRY
) -> Transformed:
    """Rewrite the lead's values with the transforming jobs selected for them, in running order.

    A transform rewrites values only: fields the lead does not have stay absent."""
    out = dict(data)
    for job_type, config in _typed(jobs, data, registry, "transforms"):
        rewritten = job_type.transform(out, config)
        out = {name: rewritten.get(name, value) for name, value in out.items()}
    changes = {
        name: {"from": data[name], "to": value}
        for name, value in out.items()
        if value != data[name] or type(value) is not type(data[name])
    }
    return Transformed(out, changes)


def claims(
    data: Mapping[str, Any],
    jobs: Sequence[JobSpec],
    origin: Origin,
    registry: JobRegistry = REGISTRY,
) -> tuple[Claim, ...]:
    """The keys the claiming jobs selected for these (transformed) values claim, each once."""
    found: dict[Claim, None] = {}
    for job_type, config in _typed(jobs, data, registry, "claims_keys"):
        found.update(dict.fromkeys(job_type.claimed_keys(data, config, origin)))
    return tuple(found)


def _typed(
    jobs: Sequence[JobSpec], data: Mapping[str, Any], registry: JobRegistry, declared: str
) -> list[tuple[JobType[Any], BaseModel]]:
    """The selected quality and enrichment jobs whose type has the declaration, with their
    validated configs (an unknown type or a config that no longer validates is left out)."""
    out = []
    for spec in select_jobs(jobs, data)[0]:
        job_type = registry.find(spec.type)
        if spec.tab == "integration" or job_type is None or not getattr(job_type, declared):
            continue
        try:
            out.append((job_type, _config(spec, job_type)))
        except ValidationError:
            continue
    return out


def _config(spec: JobSpec, job_type: JobType[Any]) -> BaseModel:
    """The spec's config as its type's model (validated here if it is still raw)."""
    config = spec.config
    if isinstance(config, job_type.config_model):
        typed: BaseModel = config
        return typed
    raw = config.model_dump() if isinstance(config, BaseModel) else config
    validated: BaseModel = job_type.config_model.model_validate(raw)
    return validated


def _decide(
    score: int,
    max_score: int,
    hard_failures: list[JobSpec],
    waiting: list[tuple[JobSpec, JobResult]],
    registry: JobRegistry,
) -> tuple[Status, str]:
    if hard_failures:
        named = (f"{_title(j, registry)} (job {j.id})" for j in hard_failures)
        return "invalid", "hard fail: " + ", ".join(named)
    if waiting:
        spec, result = waiting[0]
        reason = f"waiting: {_title(spec, registry)} (job {spec.id}) cannot judge yet"
        if result.flags:
            reason += f": {result.flags[0].message}"
        return "pending", reason
    if max_score == 0:
        return "valid", "score 0/0 (only zero-score jobs ran)"
    percent = score * 100 // max_score
    ratio = f"score {score}/{max_score} ({percent}%)"
    if score == max_score:
        return "valid", ratio
    if score * 100 >= CAUTION_PERCENT * max_score:
        return "caution", f"{ratio} at least {CAUTION_PERCENT}% but below 100%"
    return "invalid", f"{ratio} below {CAUTION_PERCENT}%"


def _title(spec: JobSpec, registry: JobRegistry) -> str:
    """What people call the job's type (its title), e.g. "Duplicate Check"."""
    return registry.get(spec.type).title if spec.type in registry else spec.type


def _summary(exc: ValidationError) -> str:
    errors = exc.errors()
    first = errors[0]
    where = ".".join(str(part) for part in first["loc"])
    text = f"{where}: {first['msg']}" if where else first["msg"]
    if len(errors) > 1:
        text += f" (and {len(errors) - 1} more problems)"
    return text
