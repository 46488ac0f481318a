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
import json
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, text, tuple_
from sqlalchemy.orm import Session

from leadgate.campaigns.models import Campaign
from leadgate.config import get_settings
from leadgate.connect import context as mirror_context
from leadgate.errors import LeadgateError, NotFound
from leadgate.instances.deps import admit_publisher
from leadgate.instances.service import Caller, authenticate
from leadgate.kit.ratelimit import RateLimiter
from leadgate.kit.repository import TenantScope
from leadgate.kit.secrets import hash_secret
from leadgate.leads import service as leads
from leadgate.leads.models import Lead
from leadgate.leads.schemas import PublisherLeadOut
from leadgate.processr import judging
from leadgate.processr.engine import Verdict
from leadgate.processr.engine import judge as decide

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
    stamp: str = ""
    lists: dict[int, tuple[str, int]] = field(default_factory=dict)
    verdict: Verdict | None = None
    row: dict[str, Any] = field(default_factory=dict)
    outcome: Outcome | None = None


def intake(session: Session, subs: Sequence[Submission], limiter: RateLimiter) -> list[Outcome]:
    """Answer a batch of submissions in the session's transaction (the caller commits)."""
    items = [_Item(s, leads.request_hash(s.data)) for s in subs]
    _lookup(session, items, limiter)
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


# One query answers, for each distinct (subdomain, key, campaign) of a batch: the key's publisher
# (live keys only), the campaign if it is granted to that publisher, the stamp of its jobs (ids
# and update times: the per-process job cache is rebuilt when it moves) and the versions of the
# lists those jobs read (compiled lists are cached per version).
_LOOKUP = text(
    """
SELECT q.i, k.instance_id, k.publisher_id, k.id, c.id, c.name, c.status, c.fields,
       jobs.stamp, lists.versions
FROM jsonb_to_recordset(CAST(:q AS jsonb)) AS q(i int, sub text, key_hash text, cid bigint)
JOIN instances n ON n.subdomain = q.sub
JOIN publisher_api_keys k
  ON k.instance_id = n.id AND k.key_hash = q.key_hash AND k.revoked_at IS NULL
LEFT JOIN campaign_publishers g
  ON g.instance_id = n.id AND g.publisher_id = k.publisher_id AND g.campaign_id = q.cid
LEFT JOIN campaigns c ON c.id = g.campaign_id AND c.instance_id = n.id
LEFT JOIN LATERAL (
    SELECT string_agg(j.id || '@' || j.updated_at, ',' ORDER BY j.id) AS stamp,
           array_agg((j.config ->> 'list_id')::bigint)
             FILTER (WHERE jsonb_typeof(j.config -> 'list_id') = 'number') AS list_ids
    FROM processr_jobs j WHERE j.campaign_id = c.id
) jobs ON true
LEFT JOIN LATERAL (
    SELECT jsonb_agg(jsonb_build_array(l.id, l.name, l.version)) AS versions
    FROM validation_lists l WHERE l.instance_id = n.id AND l.id = ANY(jobs.list_ids)
) lists ON true
"""
)


@dataclass(frozen=True, slots=True)
class _Granted:
    caller: Caller
    campaign: Campaign | None
    stamp: str
    lists: dict[int, tuple[str, int]]


def _lookup(session: Session, items: list[_Item], limiter: RateLimiter) -> None:
    """Each item's caller (within its rate limit) and granted campaign, or its refusal."""
    asked = {
        (i.sub.subdomain, hash_secret(i.sub.secret), i.sub.campaign_id): n
        for n, i in enumerate(items)
        if i.sub.secret
    }
    found: dict[tuple[str, str, int], _Granted] = {}
    if asked:
        query = [{"i": n, "sub": s, "key_hash": h, "cid": c} for (s, h, c), n in asked.items()]
        for n, inst, pub, key_id, cid, name, status, fields, stamp, versions in session.execute(
            _LOOKUP, {"q": json.dumps(query)}
        ):
            item = items[n]
            caller = Caller(inst, item.sub.subdomain, publisher_id=pub, key_id=key_id)
            campaign = None
            if cid is not None:
                campaign = Campaign(id=cid, instance_id=inst, name=name, status=status)
                campaign.fields = fields
            lists = {v[0]: (v[1], v[2]) for v in versions or []}
            key = (item.sub.subdomain, hash_secret(item.sub.secret or ""), item.sub.campaign_id)
            found[key] = _Granted(caller, campaign, stamp or "", lists)
    for item in items:
        granted = None
        if item.sub.secret:
            key = (item.sub.subdomain, hash_secret(item.sub.secret), item.sub.campaign_id)
            granted = found.get(key)
        try:
            # no secret, another instance's, a revoked one or an admin's: `authenticate` says why
            caller = (
                granted.caller
                if granted
                else authenticate(session, item.sub.subdomain, item.sub.secret)
            )
            item.caller = admit_publisher(caller, limiter)
        except LeadgateError as exc:
            item.outcome = exc
            continue
        if granted is None or granted.campaign is None:
            item.outcome = NotFound(
                f"No campaign {item.sub.campaign_id} for this key.", code="campaign_not_found"
            )
            continue
        item.campaign, item.stamp, item.lists = granted.campaign, granted.stamp, granted.lists


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
    """Verdicts in memory; jobs cached per campaign, lists per version, mirrors read per batch."""
    by_campaign: dict[int, list[_Item]] = {}
    for item in items:
        assert item.campaign is not None
        by_campaign.setdefault(item.campaign.id, []).append(item)
    staleness = get_settings().connect_max_staleness_s
    for group in by_campaign.values():
        first = group[0]
        assert first.campaign is not None
        instance_id = first.campaign.instance_id
        jobs = judging.campaign_jobs(
            TenantScope(session, instance_id), first.campaign.id, first.stamp
        )
        mirrors = mirror_context.load(session, jobs.mirror_job_ids, staleness)
        ctx = judging.DbContext(session, instance_id, jobs.list_ids, mirrors, first.lists)
        for item in group:
            try:
                item.verdict = decide(item.sub.data, jobs.specs, ctx)
            except Exception:  # a bug in a job must not lose the lead: stored unjudged
                log.exception(
                    "judging a lead of campaign %s failed; it stays pending", first.campaign.id
                )


# One statement writes a batch: ids drawn from the sequence in submission order, the leads
# (a key that another process stored meanwhile is skipped, not an error), and the history rows
# of the leads actually inserted, in order. The rows travel as one JSON document, so the
# statement is the same for any batch size and costs one parse.
_WRITE = text(
    """
WITH src AS MATERIALIZED (
    SELECT nextval(pg_get_serial_sequence('leads', 'id')) AS id, u.*
    FROM jsonb_to_recordset(CAST(:leads AS jsonb)) AS u(
        ord int, instance_id bigint, campaign_id bigint, publisher_id bigint, data jsonb,
        status text, score int, max_score int, flags jsonb, jobs jsonb, idempotency_key text,
        request_hash text, judged boolean)
    ORDER BY u.ord
), ins AS (
    INSERT INTO leads (id, instance_id, campaign_id, publisher_id, data, status, score,
                       max_score, flags, jobs, idempotency_key, request_hash, judged_at)
    SELECT id, instance_id, campaign_id, publisher_id, data, status, score, max_score, flags,
           jobs, idempotency_key, request_hash, CASE WHEN judged THEN now() END
    FROM src ORDER BY ord
    ON CONFLICT (publisher_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
    RETURNING id, updated_at
), hist AS (
    INSERT INTO lead_history (lead_id, event, detail)
    SELECT ins.id, h.event, h.detail
    FROM jsonb_to_recordset(CAST(:history AS jsonb)) AS h(ord int, n int, event text, detail jsonb)
    JOIN src ON src.ord = h.ord
    JOIN ins ON ins.id = src.id
    ORDER BY h.n
)
SELECT src.id, ins.updated_at FROM src LEFT JOIN ins ON ins.id = src.id ORDER BY src.ord
"""
)


def _store(session: Session, items: list[_Item]) -> None:
    """Insert the leads and their history; a key another process stored meanwhile is replayed."""
    rows: list[dict[str, Any]] = []
    history: list[dict[str, Any]] = []
    for ordinal, item in enumerate(items):
        assert item.caller is not None and item.campaign is not None
        item.row = {
            "ord": ordinal,
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
            "judged": item.verdict is not None,
        }
        events = [("received", {"publisher_id": item.caller.publisher_id})]
        if item.verdict is not None:
            item.row.update(judging.lead_values(item.verdict))
            events += judging.history_for("pending", False, item.verdict, trigger="received")
        rows.append(item.row)
        for event, detail in events:
            history.append({"ord": ordinal, "n": len(history), "event": event, "detail": detail})
    written = session.execute(
        _WRITE, {"leads": json.dumps(rows), "history": json.dumps(history)}
    ).all()
    for item, (lead_id, updated_at) in zip(items, written, strict=True):
        item.row["id"] = lead_id
        if updated_at is None:  # the key raced in from another process: answer with that lead
            _replay(session, [item])
            continue
        item.outcome = Accepted(_out(item.row, updated_at), True)
        if item.verdict is not None and item.verdict.integration_job_ids:
            lead = session.get(Lead, lead_id)
            assert lead is not None
            judging.queue_deliveries(session, lead, item.verdict)


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
