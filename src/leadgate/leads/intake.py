"""Lead intake: submissions that arrive together are checked, judged and stored together.

The hot path of the Publisher API. Each API process gathers the submissions that arrive while its
previous batch is being written (no timer: a lone lead on an idle server is written at once) and
handles them in one transaction: one query per kind of read (keys, grants and campaigns, earlier
Idempotency-Keys, and per campaign its jobs, list versions and mirrors), the verdicts decided in
memory by the Processr, then the leads and their history inserted with one statement each and
one commit. Nothing is answered before that commit, so a 2xx lead is a stored lead.

Every submission gets its own answer: a refused key, an unknown field or a replayed key fails
that submission only. Two submissions of one batch with the same Idempotency-Key are handled one
after the other, as if sent in turn. If the batch's transaction fails as a whole, its submissions
are retried one per transaction, so a lead the database refuses takes down only itself.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, tuple_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from leadgate.campaigns.models import Campaign, CampaignPublisher
from leadgate.errors import LeadgateError, NotFound
from leadgate.instances.deps import admit_publisher
from leadgate.instances.service import Caller, authenticate, publisher_keys
from leadgate.kit.ratelimit import RateLimiter
from leadgate.kit.repository import TenantScope
from leadgate.leads import service as leads
from leadgate.leads.models import Lead, LeadHistory
from leadgate.leads.schemas import PublisherLeadOut
from leadgate.processr import judging
from leadgate.processr.engine import JobSpec, Verdict
from leadgate.processr.engine import judge as decide
from leadgate.processr.service import jobs_of

log = logging.getLogger(__name__)

MAX_BATCH = 128


@dataclass(frozen=True, slots=True)
class Submission:
    """One `POST /publisher/campaigns/{id}/leads`, as received."""

    subdomain: str
    secret: str | None
    campaign_id: int
    data: dict[str, Any]
    idempotency_key: str | None = None


@dataclass(frozen=True, slots=True)
class Accepted:
    """The stored lead; `created` is False for a replayed Idempotency-Key (200, not 201)."""

    lead: PublisherLeadOut
    created: bool


Outcome = Accepted | Exception


@dataclass(slots=True)
class _Item:
    sub: Submission
    digest: str
    caller: Caller | None = None
    campaign: Campaign | None = None
    verdict: Verdict | None = None
    row: dict[str, Any] = field(default_factory=dict)
    outcome: Outcome | None = None


def intake(session: Session, subs: Sequence[Submission], limiter: RateLimiter) -> list[Outcome]:
    """Answer a batch of submissions in the session's transaction (the caller commits)."""
    items = [_Item(s, leads.request_hash(s.data)) for s in subs]
    _authenticate(session, items, limiter)
    _grant(session, [i for i in items if i.outcome is None])
    _replay(session, [i for i in items if i.outcome is None])
    for item in items:
        if item.outcome is None:
            assert item.campaign is not None
            try:
                leads.check_open(item.campaign)
                leads.check_data(item.campaign, item.sub.data)
            except LeadgateError as exc:
                item.outcome = exc
    todo = [i for i in items if i.outcome is None]
    if todo:
        _judge(session, todo)
        _store(session, todo)
    return [i.outcome if i.outcome is not None else RuntimeError("no outcome") for i in items]


def _authenticate(session: Session, items: list[_Item], limiter: RateLimiter) -> None:
    keys = {(i.sub.subdomain, i.sub.secret) for i in items if i.sub.secret}
    callers = publisher_keys(session, [(sub, secret) for sub, secret in keys if secret])
    for item in items:
        try:
            caller = callers.get((item.sub.subdomain, item.sub.secret or ""))
            if caller is None:  # says why: no secret, another instance's, revoked, an admin's
                caller = authenticate(session, item.sub.subdomain, item.sub.secret)
            item.caller = admit_publisher(caller, limiter)
        except LeadgateError as exc:
            item.outcome = exc


def _grant(session: Session, items: list[_Item]) -> None:
    """Each item's campaign, if granted to its publisher; 404 campaign_not_found otherwise."""
    wanted = {(i.caller.publisher_id, i.sub.campaign_id) for i in items if i.caller}
    rows = session.execute(
        select(CampaignPublisher.publisher_id, Campaign)
        .join(Campaign, Campaign.id == CampaignPublisher.campaign_id)
        .where(
            tuple_(CampaignPublisher.publisher_id, CampaignPublisher.campaign_id).in_(list(wanted)),
            Campaign.instance_id == CampaignPublisher.instance_id,
        )
    ).all()
    granted: dict[tuple[int | None, int, int], Campaign] = {
        (publisher_id, c.id, c.instance_id): c for publisher_id, c in rows
    }
    for item in items:
        assert item.caller is not None
        item.campaign = granted.get(
            (item.caller.publisher_id, item.sub.campaign_id, item.caller.instance_id)
        )
        if item.campaign is None:
            item.outcome = NotFound(
                f"No campaign {item.sub.campaign_id} for this key.", code="campaign_not_found"
            )


def _replay(session: Session, items: list[_Item]) -> None:
    """Submissions whose Idempotency-Key was used before get that lead (or 409)."""
    keyed = {key: i for i in items if (key := _key(i)) is not None}
    if not keyed:
        return
    earlier = session.scalars(
        select(Lead).where(
            tuple_(Lead.publisher_id, Lead.idempotency_key).in_(list(keyed)),
        )
    ).all()
    for lead in earlier:
        _answer_replay(keyed[(lead.publisher_id, lead.idempotency_key)], lead)


def _key(item: _Item) -> tuple[int | None, str | None] | None:
    if item.caller is None or not item.sub.idempotency_key:
        return None
    return (item.caller.publisher_id, item.sub.idempotency_key)


def _answer_replay(item: _Item, lead: Lead) -> None:
    try:
        item.outcome = Accepted(leads.to_publisher_out(leads.replay(lead, item.digest)), False)
    except LeadgateError as exc:
        item.outcome = exc


def _judge(session: Session, items: list[_Item]) -> None:
    """Verdicts in memory, with each campaign's jobs, lists and mirrors read once per batch."""
    by_campaign: dict[int, list[_Item]] = {}
    for item in items:
        assert item.campaign is not None
        by_campaign.setdefault(item.campaign.id, []).append(item)
    for group in by_campaign.values():
        campaign = group[0].campaign
        assert campaign is not None
        jobs = jobs_of(TenantScope(session, campaign.instance_id), campaign.id)
        specs: list[JobSpec] = [judging.to_spec(j) for j in jobs]
        ctx = judging.context_for(session, campaign.instance_id, jobs)
        for item in group:
            try:
                item.verdict = decide(item.sub.data, specs, ctx)
            except Exception:  # a bug in a job must not lose the lead: stored unjudged
                log.exception("judging a lead of campaign %s failed; it stays pending", campaign.id)


def _store(session: Session, items: list[_Item]) -> None:
    """Insert the leads and their history; a key another process stored meanwhile is replayed."""
    ids = session.scalars(
        select(func.nextval(func.pg_get_serial_sequence("leads", "id"))).select_from(
            func.generate_series(1, len(items))
        )
    ).all()
    rows = []
    for item, lead_id in zip(items, ids, strict=True):
        assert item.caller is not None and item.campaign is not None
        item.row = {
            "id": lead_id,
            "instance_id": item.campaign.instance_id,
            "campaign_id": item.campaign.id,
            "publisher_id": item.caller.publisher_id,
            "data": item.sub.data,
            "status": "pending",
            "score": 0,
            "max_score": 0,
            "flags": [],
            "jobs": [],
            "idempotency_key": item.sub.idempotency_key,
            "request_hash": item.digest,
            "judged_at": None,
        }
        if item.verdict is not None:
            item.row.update(judging.lead_values(item.verdict), judged_at=func.now())
        rows.append(item.row)
    stored: dict[int, datetime] = dict(
        session.execute(
            pg_insert(Lead)
            .values(rows)
            .on_conflict_do_nothing(
                index_elements=[Lead.publisher_id, Lead.idempotency_key],
                index_where=Lead.idempotency_key.is_not(None),
            )
            .returning(Lead.id, Lead.updated_at)
        ).all()
    )
    history: list[dict[str, Any]] = []
    for item in items:
        lead_id = item.row["id"]
        if lead_id not in stored:
            continue
        history.append(_history(lead_id, "received", {"publisher_id": item.row["publisher_id"]}))
        if item.verdict is not None:
            for event, detail in judging.history_for(
                "pending", False, item.verdict, trigger="received"
            ):
                history.append(_history(lead_id, event, detail))
        item.outcome = Accepted(_out(item.row, stored[lead_id]), True)
    if history:
        session.execute(insert(LeadHistory).values(history))
    for item in items:
        if item.outcome is None:  # the key raced in from another process
            _replay(session, [item])
        elif item.verdict is not None and item.verdict.integration_job_ids:
            lead = session.get(Lead, item.row["id"])
            assert lead is not None
            judging.queue_deliveries(session, lead, item.verdict)


def _history(lead_id: int, event: str, detail: dict[str, Any]) -> dict[str, Any]:
    return {"lead_id": lead_id, "event": event, "detail": detail}


def _out(row: dict[str, Any], updated_at: datetime) -> PublisherLeadOut:
    return PublisherLeadOut.model_validate(
        {
            "id": row["id"],
            "status": row["status"],
            "score": row["score"],
            "max_score": row["max_score"],
            "flags": row["flags"],
            "updated_at": updated_at,
        }
    )


class LeadIntake:
    """Gathers the submissions of one API process into batches, written one batch at a time."""

    def __init__(
        self, sessions: Callable[[], Session], limiter: RateLimiter, max_batch: int = MAX_BATCH
    ) -> None:
        self.sessions = sessions
        self.limiter = limiter
        self.max_batch = max_batch
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lead-intake")
        self._waiting: list[tuple[Submission, asyncio.Future[Outcome]]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._writer: asyncio.Task[None] | None = None

    async def submit(self, sub: Submission) -> Outcome:
        """The outcome of a submission, once its batch is committed."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # a new event loop (tests start one per client)
            self._loop, self._waiting, self._writer = loop, [], None
        future: asyncio.Future[Outcome] = loop.create_future()
        self._waiting.append((sub, future))
        if self._writer is None or self._writer.done():
            self._writer = loop.create_task(self._write())
        return await future

    async def _write(self) -> None:
        loop = asyncio.get_running_loop()
        while self._waiting:
            batch = self._waiting[: self.max_batch]
            del self._waiting[: self.max_batch]
            try:
                outcomes = await loop.run_in_executor(
                    self._executor, self.run, [sub for sub, _ in batch]
                )
            except Exception as exc:
                outcomes = [exc] * len(batch)
            for (_, future), outcome in zip(batch, outcomes, strict=True):
                if not future.done():
                    future.set_result(outcome)

    def run(self, subs: list[Submission]) -> list[Outcome]:
        """Answer submissions in as few transactions as their Idempotency-Keys allow."""
        outcomes: list[Outcome | None] = [None] * len(subs)
        pending = list(range(len(subs)))
        while pending:  # a key twice in a batch: the second waits for the next round
            seen: set[tuple[str, str | None, str]] = set()
            now, later = [], []
            for index in pending:
                sub = subs[index]
                key = (
                    (sub.subdomain, sub.secret, sub.idempotency_key)
                    if sub.idempotency_key
                    else None
                )
                if key is not None and key in seen:
                    later.append(index)
                    continue
                if key is not None:
                    seen.add(key)
                now.append(index)
            for index, outcome in zip(now, self._transaction([subs[i] for i in now]), strict=True):
                outcomes[index] = outcome
            pending = later
        return [o if o is not None else RuntimeError("no outcome") for o in outcomes]

    def _transaction(self, subs: list[Submission]) -> list[Outcome]:
        try:
            with self.sessions() as session, session.begin():
                return intake(session, subs, self.limiter)
        except Exception as exc:
            if len(subs) == 1:
                return [exc]
            log.warning("a batch of %d leads failed (%s); retrying them one by one", len(subs), exc)
            return [self._transaction([sub])[0] for sub in subs]

    def close(self) -> None:
        """Stop the writer thread (pending batches finish first)."""
        self._executor.shutdown(wait=True)
