"""The life of a lead, one way for every entrance: check → judge → store with history → hooks.

- `submit` is the admin route's (and any single-lead caller's) path: the campaign and fields are
  checked, the Processr judges the data in memory, and the lead is stored with its verdict and
  history in the caller's transaction; no commit in between.
- The intake (`leads.intake`) stores batches with one statement, but builds its rows with
  `new_row`, its history with `history_for`, and runs `after_judged` for the same hooks.
- `rejudge` stores a new verdict on a stored lead (reprocess, a mirror that became ready, a
  crash recovered) with the same history rules.

Every entrance first `prepare`s the lead: the transforming jobs rewrite its values (what the
other jobs judge and the lead stores; a `transformed` history entry keeps the submitted ones),
and the claiming jobs say which keys it claims, which are locked, probed and written with the
lead (`leads.keys`). A lead judged again is transformed again (transforms are idempotent) and
gives up its keys for the ones its new verdict claims; its earlier leads are those stored before
it, and the window of a key is measured from when it came.

Integration jobs (Connect delivery) react through their type's `after_judged` hook, so this
module knows no job type.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from leadgate.campaigns import service as campaigns
from leadgate.kit.repository import TenantScope
from leadgate.leads import keys, repository
from leadgate.leads.models import Lead
from leadgate.leads.service import check_data, check_open, record
from leadgate.leads.service import set_status as set_status_only
from leadgate.processr import judging
from leadgate.processr import service as processr
from leadgate.processr.engine import Verdict, claims, select_jobs, transform
from leadgate.processr.engine import judge as decide
from leadgate.processr.plugin import Claim, JobContext, Judged, Origin, Statement
from leadgate.processr.registry import REGISTRY


def new_row(
    instance_id: int,
    campaign_id: int,
    data: dict[str, Any],
    *,
    publisher_id: int | None = None,
    idempotency_key: str | None = None,
    request_hash: str | None = None,
) -> dict[str, Any]:
    """The columns of a new lead before any verdict: the one place its defaults live."""
    return {
        "instance_id": instance_id,
        "campaign_id": campaign_id,
        "publisher_id": publisher_id,
        "data": data,
        "status": "pending",
        "score": 0,
        "max_score": 0,
        "flags": [],
        "jobs": [],
        "idempotency_key": idempotency_key,
        "request_hash": request_hash,
    }


def lead_values(verdict: Verdict) -> dict[str, Any]:
    """The lead columns a verdict sets (besides `judged_at`)."""
    return {
        "status": verdict.status,
        "score": verdict.score,
        "max_score": verdict.max_score,
        "flags": [f.as_dict() for f in verdict.flags],
        "jobs": [j.as_dict() for j in verdict.jobs],
    }


@dataclass(frozen=True, slots=True)
class Prepared:
    """A lead ready to be judged: the values its jobs judge and it stores, what the transforming
    jobs changed (field -> {from, to}), and the keys it claims."""

    data: dict[str, Any]
    changes: dict[str, dict[str, Any]]
    claims: tuple[Claim, ...]


def prepare(data: dict[str, Any], jobs: judging.CampaignJobs, origin: Origin) -> Prepared:
    """Transform the lead's values and collect its keys, as the campaign's jobs say."""
    changes: dict[str, dict[str, Any]] = {}
    if jobs.transforms:
        transformed = transform(data, jobs.specs)
        data, changes = transformed.data, transformed.changes
    found = claims(data, jobs.specs, origin) if jobs.claims else ()
    return Prepared(data, changes, found)


def transformed_history(changes: dict[str, dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """The history entry that keeps the submitted values the transforming jobs rewrote."""
    return [("transformed", {"fields": changes})] if changes else []


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


def integrates(verdict: Verdict) -> bool:
    """Whether a lead with this verdict goes to integration jobs (it ended valid or test)."""
    return bool(verdict.integration_job_ids) and verdict.status in ("valid", "test")


def integration_work(
    judged: Iterable[tuple[int, int, int, Verdict, judging.CampaignJobs]],
) -> list[Statement]:
    """What the integration jobs of leads that ended valid or test write, through their types
    (one call per type for the whole batch). `judged`: (instance id, lead id, campaign id,
    verdict, the jobs that judged it) of leads stored in the caller's transaction."""
    return _integration_statements(
        (instance_id, lead_id, campaign_id, verdict.integration_job_ids, jobs)
        for instance_id, lead_id, campaign_id, verdict, jobs in judged
        if integrates(verdict)
    )


def _integration_statements(
    leads: Iterable[tuple[int, int, int, Sequence[int], judging.CampaignJobs]],
) -> list[Statement]:
    """(instance id, lead id, campaign id, integration job ids, the campaign's jobs) -> what
    those jobs' types write."""
    by_type: dict[str, list[Judged]] = {}
    for instance_id, lead_id, campaign_id, job_ids, jobs in leads:
        types = {spec.id: spec.type for spec in jobs.specs}
        mine: dict[str, list[int]] = {}
        for job_id in job_ids:
            mine.setdefault(types[job_id], []).append(job_id)
        for type_name, ids in mine.items():
            lead = Judged(instance_id, lead_id, campaign_id, tuple(ids))
            by_type.setdefault(type_name, []).append(lead)
    work: list[Statement] = []
    for type_name, taken in by_type.items():
        found = REGISTRY.find(type_name)
        if found is not None:
            work.extend(found.after_judged(taken))
    return work


def after_judged(
    session: Session, judged: Sequence[tuple[Lead, Verdict, judging.CampaignJobs]]
) -> None:
    """Run the integration jobs' work for these leads in the session's transaction."""
    leads = [(lead.instance_id, lead.id, lead.campaign_id, v, j) for lead, v, j in judged]
    for statement in integration_work(leads):
        session.connection().exec_driver_sql(statement.sql, dict(statement.params))


def integrate_marked(scope: TenantScope, marked: Sequence[tuple[int, int, dict[str, Any]]]) -> None:
    """Leads a person marked valid, each (lead id, campaign id, data), go to the integration
    jobs their campaign's Processr selects for them (group conditions apply), as a verdict of
    valid would send them: in the caller's transaction, one statement per job type."""
    campaign_jobs: dict[int, judging.CampaignJobs] = {}
    leads = []
    for lead_id, campaign_id, data in marked:
        jobs = campaign_jobs.get(campaign_id)
        if jobs is None:
            jobs = campaign_jobs[campaign_id] = judging.CampaignJobs.of(
                processr.jobs_of(scope, campaign_id)
            )
        if not any(spec.tab == "integration" for spec in jobs.specs):
            continue
        selected, _ = select_jobs(jobs.specs, data)
        ids = [spec.id for spec in selected if spec.tab == "integration"]
        if ids:
            leads.append((scope.instance_id, lead_id, campaign_id, ids, jobs))
    for statement in _integration_statements(leads):
        scope.session.connection().exec_driver_sql(statement.sql, dict(statement.params))


def set_status(scope: TenantScope, lead: Lead, status: str, reason: str, user: str) -> Lead:
    """A person's verdict on one lead (`service.set_status`); marked valid, it goes on to its
    integration jobs, as a verdict of valid sends it."""
    set_status_only(scope, lead, status, reason, user)
    if status == "valid":
        integrate_marked(scope, [(lead.id, lead.campaign_id, lead.data)])
    return lead


def _context(
    scope: TenantScope, jobs: judging.CampaignJobs, max_staleness_s: float | None
) -> JobContext:
    return judging.context_for(scope.session, scope.instance_id, jobs, max_staleness_s)


def _claiming(
    scope: TenantScope,
    ctx: JobContext,
    origin: Origin,
    claimant: keys.Claimant,
) -> JobContext:
    """The lead's context once its keys are locked and probed (in the session's transaction)."""
    earlier: dict[Claim, Any] = {}
    if claimant.claims:
        conn = scope.session.connection()
        conn.exec_driver_sql(repository.LOCK_KEYS, keys.lock_params([claimant]))
        earliers = keys.Earliers.asking([claimant])
        earliers.answered(conn.exec_driver_sql(repository.PROBE_KEYS, earliers.params(0)).all())
        earlier = earliers.for_lead(claimant)
    return judging.LeadContext(ctx, origin, earlier)


def _write_keys(scope: TenantScope, claimant: keys.Claimant, lead_id: int, state: str) -> None:
    if claimant.claims:
        rows = keys.key_rows(claimant, state, lead_id=lead_id, at=claimant.at)
        params = {"keys": keys.keys_param(rows)}
        scope.session.connection().exec_driver_sql(repository.WRITE_KEYS, params)


def submit(
    scope: TenantScope,
    campaign_id: int,
    data: dict[str, Any],
    *,
    max_staleness_s: float | None,
    publisher_id: int | None = None,
) -> Lead:
    """Check, judge and store a new lead with its verdict and history (the caller commits)."""
    campaign = campaigns.get(scope, campaign_id)
    check_open(campaign)
    check_data(campaign, data)
    jobs = judging.load(scope, campaign.id)
    origin = Origin(campaign.id, publisher_id)
    prepared = prepare(data, jobs, origin)
    ctx = _context(scope, jobs, max_staleness_s)
    claimant = keys.Claimant(scope.instance_id, prepared.claims)
    if jobs.claims:
        ctx = _claiming(scope, ctx, origin, claimant)
    verdict = decide(prepared.data, jobs.specs, ctx)
    row = new_row(scope.instance_id, campaign.id, prepared.data, publisher_id=publisher_id)
    lead = Lead(**row | lead_values(verdict), judged_at=datetime.now(UTC))
    scope.session.add(lead)
    scope.session.flush()
    record(scope, lead, "received", publisher_id=publisher_id)
    entries = transformed_history(prepared.changes)
    entries += history_for("pending", False, verdict, trigger="received")
    for event, detail in entries:
        record(scope, lead, event, **detail)
    scope.session.flush()
    _write_keys(scope, claimant, lead.id, verdict.status)
    after_judged(scope.session, [(lead, verdict, jobs)])
    return lead


def rejudge(
    scope: TenantScope, lead: Lead, *, reason: str, max_staleness_s: float | None
) -> Verdict:
    """Run the campaign's Processr on a stored lead again and store the outcome and history."""
    jobs = judging.load(scope, lead.campaign_id)
    origin = Origin(lead.campaign_id, lead.publisher_id)
    prepared = prepare(lead.data, jobs, origin)
    ctx = _context(scope, jobs, max_staleness_s)
    claimant = keys.Claimant(scope.instance_id, prepared.claims, lead.id, lead.created_at)
    if jobs.claims:
        ctx = _claiming(scope, ctx, origin, claimant)
    verdict = decide(prepared.data, jobs.specs, ctx)
    entries = transformed_history(prepared.changes)
    entries += history_for(lead.status, lead.judged_at is not None, verdict, trigger=reason)
    if prepared.changes:
        lead.data = prepared.data
    for name, value in lead_values(verdict).items():
        setattr(lead, name, value)
    lead.judged_at = datetime.now(UTC)
    for event, detail in entries:
        record(scope, lead, event, **detail)
    scope.session.flush()
    params = {"lead_id": lead.id, "instance_id": scope.instance_id}
    scope.session.connection().exec_driver_sql(repository.FORGET_KEYS, params)
    _write_keys(scope, claimant, lead.id, verdict.status)
    after_judged(scope.session, [(lead, verdict, jobs)])
    return verdict


def unjudged(session: Session, older_than: timedelta, limit: int = 500) -> list[Lead]:
    """Leads the Processr never finished (a crash between accepting and judging)."""
    return repository.unjudged_any_instance(session, datetime.now(UTC) - older_than, limit)
