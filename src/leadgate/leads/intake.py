"""Lead intake: submissions that arrive together are checked, judged and stored together.

The hot path of the Publisher API. Each API process gathers the submissions that arrive while its
previous batch is being answered (no timer: a lone lead on an idle server is written at once; the
next batch starts while one is written, and a batch held up by a lock gets a second writer
beside it: `LeadIntake`) and answers a batch with two statements: one *lookup* (keys, grants,
campaigns, the stamp of each campaign's jobs and the versions of the lists they read, for every
distinct key and campaign of the batch; the rate limit's count) and one *write* (the leads and
their history, as one atomic statement). The verdicts are decided in
memory between the two by the Processr, with job definitions cached per campaign stamp and
compiled lists per list version. Nothing is answered before the write is committed, so a 2xx
lead is a stored lead.

A batch whose campaigns have jobs that transform values or claim keys (`lifecycle.prepare`)
runs the same steps: the values are transformed in memory, and when some lead claims keys (a
duplicate check) the batch is judged and written in one transaction that first locks and probes
its keys (`leads.keys`: BEGIN, the lock and the probe in one round trip, the write and COMMIT in
the next), so of two leads with one value, in one batch or in two batches of any processes,
exactly one is the first.

Two drivers run the same steps:

- the *fast* one, on the event loop with its own autocommit connection, handles the usual batch:
  known live keys, granted campaigns, warm caches (job specs and Connect mirror views per
  campaign stamp, compiled lists per version); a batch with integration work (deliveries) is
  written in one transaction with that work;
- the *general* one, in a worker thread with an ORM session and one transaction, handles
  everything else (an unknown or revoked key and the reason it gets, a cache to fill or a list to
  compile) and every batch the fast one declines. It is the reference: the fast one only ever
  skips work it proved unnecessary.

Every submission gets its own answer: a refused key, an unknown field or a replayed key fails
that submission only. Two submissions of one batch with the same Idempotency-Key are handled one
after the other, as if sent in turn. If a batch fails as a whole, its submissions are retried one
per transaction, so a lead the database refuses takes down only itself.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
import weakref
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import orjson
import psycopg
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session

from leadgate.campaigns.models import Campaign
from leadgate.errors import LeadgateError, NotFound, OutcomeUnknown
from leadgate.instances.deps import publisher_only, refuse_over_limit
from leadgate.instances.service import Caller, authenticate
from leadgate.kit import metrics
from leadgate.kit.ratelimit import RateLimiter
from leadgate.kit.repository import TenantScope
from leadgate.kit.secrets import hash_secret
from leadgate.leads import keys, lifecycle
from leadgate.leads import service as leads
from leadgate.leads.repository import (
    CLAIM,
    EARLIER,
    LOCK_KEYS,
    LOOKUP,
    LOOKUP_COUNTING,
    PREPARE_CLAIMING,
    PROBE_KEYS,
    WRITE,
    WRITE_AND_COMMIT,
    WRITE_CLAIMED,
    WRITE_CLAIMING,
)
from leadgate.leads.schemas import PublisherLeadOut
from leadgate.processr import judging
from leadgate.processr.engine import Verdict
from leadgate.processr.engine import judge as decide
from leadgate.processr.plugin import JobContext, Origin
from leadgate.processr.registry import REGISTRY

log = logging.getLogger(__name__)

MAX_BATCH = 128
WRITERS = 2  # batches of one API process written at once, at most (`LeadIntake`)
STALL_S = 0.1  # a submission waiting this long for a held-up batch gets another writer


@dataclass(frozen=True, slots=True)
class Submission:
    """One `POST /publisher/campaigns/{id}/leads`, as received."""

    subdomain: str
    secret: str | None
    campaign_id: int
    data: dict[str, Any]
    idempotency_key: str | None = None
    hops: tuple[str, ...] = ()  # the instances a delivered lead came through (peer.hops)


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
    ask: int | None = None  # the index of its (subdomain, key, campaign) in the lookup
    found: _Found | None = None
    caller: Caller | None = None
    verdict: Verdict | None = None
    jobs: judging.CampaignJobs | None = None  # the jobs that judged it
    ctx: JobContext | None = None  # its campaign's
    prepared: lifecycle.Prepared | None = None  # when its jobs transform values or claim keys
    claimant: keys.Claimant | None = None  # when it claims keys
    drawn: int | None = None  # its lead id, drawn before the write when the batch claims keys
    row: dict[str, Any] = field(default_factory=dict)
    outcome: Outcome | None = None

    @property
    def data(self) -> dict[str, Any]:
        """The values its jobs judge and the lead stores (transformed, if its jobs say so)."""
        return self.prepared.data if self.prepared is not None else self.sub.data

    @property
    def campaign(self) -> Campaign:
        assert self.found is not None and self.found.campaign is not None
        return self.found.campaign


@dataclass(frozen=True, slots=True)
class _Found:
    """What the lookup found for a (subdomain, key, campaign): a live key, maybe a grant."""

    caller: Caller
    campaign: Campaign | None
    stamp: str
    lists: dict[int, tuple[str, int]]


class _Declined(Exception):
    """The fast driver cannot answer this batch; the general one will."""


class _WriteUnknown(Exception):
    """The connection broke during the write: the batch may or may not be stored."""


# The statements (LOOKUP, EARLIER, WRITE) are in leads/repository.py with the other lead queries.

Rows = Sequence[Sequence[Any]]


def _json(value: Any) -> str:
    """Statement parameters as JSON text (orjson: the batch's rows are the biggest encode)."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # an integer beyond 64 bits: jsonb holds it, the standard library writes it
        return json.dumps(value)


# --- the steps (no I/O) ------------------------------------------------------------------------


def _lookup_params(items: list[_Item]) -> tuple[dict[str, Any], dict[tuple[str, str, int], int]]:
    asked: dict[tuple[str, str, int], int] = {}
    times: dict[int, int] = {}  # how many submissions ask each
    for item in items:
        if item.sub.secret:
            key = (item.sub.subdomain, hash_secret(item.sub.secret), item.sub.campaign_id)
            item.ask = asked.setdefault(key, len(asked))
            times[item.ask] = times.get(item.ask, 0) + 1
    query = [
        {"i": n, "sub": s, "key_hash": h, "cid": c, "n": times[n]} for (s, h, c), n in asked.items()
    ]
    # Job types the fast driver may judge and store; a campaign with any other job (or a type
    # this process does not know) takes the general driver.
    return {"q": _json(query), "fast": sorted(REGISTRY.names(fast_intake=True))}, asked


def _found(items: list[_Item], rows: Rows, asked: dict[tuple[str, str, int], int]) -> set[int]:
    """Attach the lookup's answer to the items; returns the asked indexes whose campaign has jobs
    only the general driver runs."""
    by_index: dict[int, tuple[_Found, bool]] = {}
    subdomains = {n: key[0] for key, n in asked.items()}
    for n, inst, pub, key_id, cid, name, status, fields, stamp, general, versions in rows:
        campaign = None
        if cid is not None:
            campaign = Campaign(id=cid, instance_id=inst, name=name, status=status)
            campaign.fields = fields
        caller = Caller(inst, subdomains[n], publisher_id=pub, key_id=key_id)
        lists = {v[0]: (v[1], v[2]) for v in versions or []}
        by_index[n] = (_Found(caller, campaign, stamp or "", lists), bool(general))
    general_ones: set[int] = set()
    for item in items:
        if item.ask is not None and item.ask in by_index:
            item.found, general = by_index[item.ask]
            if general:
                general_ones.add(item.ask)
    return general_ones


class Hits:
    """The rate limit as one batch sees it: each submission counts once, however often the
    batch is answered (one by one after a failure, or by the general driver after the fast),
    and a batch counts with one statement."""

    def __init__(self, limiter: RateLimiter) -> None:
        self.limiter = limiter
        self._waits: dict[int, int | None] = {}

    def statement(self, items: list[_Item]) -> tuple[str, dict[str, Any], dict[int, int]] | None:
        """The statement that counts the submissions not counted yet (and their counts per
        publisher), or None when there are none."""
        counts = self._counts(items)
        if not counts:
            return None
        sql, params = self.limiter.statement(counts)
        return sql, params, counts

    def counted_by_lookup(self, items: list[_Item], rows: Rows) -> None:
        """Take the counts of LOOKUP_COUNTING (the first count of these submissions): each
        row ends with its publisher's new total and the seconds until its window ends."""
        # row[2]: the key's publisher
        totals = {row[2]: (row[2], row[-2], row[-1]) for row in rows if row[-2] is not None}
        counts = self._counts(items)
        if counts:
            self.counted(items, counts, [totals[pid] for pid in counts])

    def _counts(self, items: list[_Item]) -> dict[int, int]:
        counts: dict[int, int] = {}
        for item in self._uncounted(items):
            pid = item.found.caller.publisher_id  # type: ignore[union-attr]
            assert pid is not None
            counts[pid] = counts.get(pid, 0) + 1
        return counts

    def counted(self, items: list[_Item], counts: dict[int, int], rows: Rows) -> None:
        """Give each newly counted submission its answer, in submission order."""
        waits = self.limiter.waits(counts, rows)
        for item in self._uncounted(items):
            pid = item.found.caller.publisher_id  # type: ignore[union-attr]
            self._waits[id(item.sub)] = waits[pid].pop(0)  # type: ignore[index]

    def _uncounted(self, items: list[_Item]) -> list[_Item]:
        return [
            i
            for i in items
            if id(i.sub) not in self._waits
            and i.found is not None
            and i.found.caller.publisher_id is not None
        ]

    def wait(self, sub: Submission) -> int | None:
        """The limiter's answer for this submission (None: within the limit, or not counted:
        a key the lookup did not find, refused before the limit matters)."""
        return self._waits.get(id(sub))


def _admit(items: list[_Item], hits: Hits, fallback: Callable[[_Item], Caller]) -> None:
    """Callers within their rate limit with a granted, open campaign and known fields."""
    for item in items:
        try:
            caller = item.found.caller if item.found else fallback(item)
            publisher_only(caller)
            refuse_over_limit(hits.limiter, hits.wait(item.sub))
            item.caller = caller
            if item.found is None or item.found.campaign is None:
                raise NotFound(
                    f"No campaign {item.sub.campaign_id} for this key.", code="campaign_not_found"
                )
        except LeadgateError as exc:
            item.outcome = exc


def _earlier_params(items: list[_Item]) -> dict[str, str] | None:
    pairs = {
        (i.caller.publisher_id, i.sub.idempotency_key)
        for i in items
        if i.outcome is None and i.caller is not None and i.sub.idempotency_key
    }
    if not pairs:
        return None
    return {"q": _json([{"publisher_id": p, "key": k} for p, k in pairs])}


def _replayed(items: list[_Item], rows: Rows) -> None:
    """Submissions whose Idempotency-Key was used before get that lead, or 409."""
    earlier = {(r[0], r[1]): r for r in rows}
    for item in items:
        if item.outcome is not None or item.caller is None or not item.sub.idempotency_key:
            continue
        row = earlier.get((item.caller.publisher_id, item.sub.idempotency_key))
        if row is None:
            continue
        _, _, lead_id, status, score, max_score, flags, updated_at, request_hash, cid = row
        try:
            leads.check_replay(request_hash, item.digest, same_campaign=cid == item.sub.campaign_id)
        except LeadgateError as exc:
            item.outcome = exc
            continue
        out = leads.publisher_out(lead_id, status, score, max_score, flags, updated_at)
        item.outcome = Accepted(out, False)


def _checked(items: list[_Item]) -> list[_Item]:
    """The items still to store, after the campaign's own checks (open, known fields)."""
    for item in items:
        if item.outcome is None:
            try:
                leads.check_open(item.campaign)
                leads.check_data(item.campaign, item.sub.data)
            except LeadgateError as exc:
                item.outcome = exc
    return [i for i in items if i.outcome is None]


def _by_campaign(items: list[_Item]) -> list[list[_Item]]:
    groups: dict[int, list[_Item]] = {}
    for item in items:
        groups.setdefault(item.campaign.id, []).append(item)
    return list(groups.values())


def _prepare(items: list[_Item], jobs: judging.CampaignJobs, ctx: JobContext) -> None:
    """Give a campaign's items their jobs and context, their transformed values and claims."""
    for item in items:
        item.jobs, item.ctx = jobs, ctx
        if not (jobs.transforms or jobs.claims):
            continue
        assert item.caller is not None
        origin = Origin(item.campaign.id, item.caller.publisher_id)
        try:
            item.prepared = lifecycle.prepare(item.sub.data, jobs, origin)
        except Exception:  # a bug in a job must not lose the lead: stored unjudged, as sent
            log.exception("preparing a lead of campaign %s failed", item.campaign.id)
            item.jobs = None
            continue
        if jobs.claims:
            item.claimant = keys.Claimant(item.campaign.instance_id, item.prepared.claims)


def _claims(items: list[_Item]) -> list[keys.Claimant]:
    return [i.claimant for i in items if i.claimant is not None and i.claimant.claims]


def _judge(items: list[_Item], earliers: keys.Earliers | None = None) -> None:
    """Judge the prepared items in submission order (with `earliers` once their keys are
    probed, each seeing the earlier leads of its batch too)."""
    for item in items:
        if item.jobs is None or item.ctx is None:
            continue
        ctx = item.ctx
        if item.claimant is not None:
            assert item.caller is not None
            origin = Origin(item.campaign.id, item.caller.publisher_id)
            answers = earliers.for_lead(item.claimant) if earliers is not None else {}
            ctx = judging.LeadContext(ctx, origin, answers)
        try:
            item.verdict = decide(item.data, item.jobs.specs, ctx)
        except Exception:  # a bug in a job must not lose the lead: stored unjudged
            log.exception("judging a lead of campaign %s failed; stored pending", item.campaign.id)
        if earliers is not None and item.claimant is not None and item.drawn is not None:
            earliers.judged(item.claimant, item.drawn, _state(item))


def _state(item: _Item) -> str:
    """What the lead's keys hold: the status it is stored with."""
    return item.verdict.status if item.verdict is not None else "pending"


def _probe_params(items: list[_Item]) -> tuple[dict[str, Any], keys.Earliers]:
    claimants = _claims(items)
    earliers = keys.Earliers.asking(claimants)
    return earliers.params(len(items)), earliers


def _probed(items: list[_Item], earliers: keys.Earliers, rows: Rows) -> None:
    """Take the probe's answer: the earlier leads, and the ids drawn for the items."""
    earliers.answered(rows)
    for item, lead_id in zip(items, earliers.ids, strict=True):
        item.drawn = lead_id


def _write_params(items: list[_Item], claiming: bool = False) -> dict[str, str]:
    """WRITE's parameters, or WRITE_CLAIMING's (the drawn ids and the keys) when `claiming`."""
    rows: list[dict[str, Any]] = []
    history: list[dict[str, Any]] = []
    claimed: list[dict[str, Any]] = []
    for ordinal, item in enumerate(items):
        assert item.caller is not None
        item.row = lifecycle.new_row(
            item.campaign.instance_id,
            item.campaign.id,
            item.data,
            publisher_id=item.caller.publisher_id,
            idempotency_key=item.sub.idempotency_key,
            request_hash=item.digest,
        )
        item.row.update(ord=ordinal, judged=item.verdict is not None)
        received: dict[str, Any] = {"publisher_id": item.caller.publisher_id}
        if item.sub.hops:
            received["hops"] = list(item.sub.hops)
        events = [("received", received)]
        if item.prepared is not None:
            events += lifecycle.transformed_history(item.prepared.changes)
        if item.verdict is not None:
            item.row.update(lifecycle.lead_values(item.verdict))
            events += lifecycle.history_for("pending", False, item.verdict, trigger="received")
        rows.append(item.row if not claiming else {**item.row, "id": item.drawn})
        for event, detail in events:
            history.append({"ord": ordinal, "n": len(history), "event": event, "detail": detail})
        if claiming and item.claimant is not None:
            claimed += keys.key_rows(item.claimant, _state(item), ord=ordinal)
    params = {"leads": _json(rows), "history": _json(history)}
    if claiming:
        params["keys"] = _json(claimed)
    return params


def _written(items: list[_Item], rows: Rows) -> list[_Item]:
    """Answers for the stored leads; returns the items whose key raced in from elsewhere."""
    raced = []
    for item, (lead_id, updated_at) in zip(items, rows, strict=True):
        item.row["id"] = lead_id
        if updated_at is None:
            raced.append(item)
            continue
        r = item.row
        out = leads.publisher_out(
            lead_id, r["status"], r["score"], r["max_score"], r["flags"], updated_at
        )
        item.outcome = Accepted(out, True)
    return raced


def _outcomes(items: list[_Item]) -> list[Outcome]:
    return [i.outcome if i.outcome is not None else RuntimeError("no outcome") for i in items]


# --- the general driver (a thread, an ORM session, one transaction) ---------------------------


def intake(
    session: Session, subs: Sequence[Submission], hits: Hits, max_staleness_s: float | None = None
) -> list[Outcome]:
    """Answer a batch of submissions in the session's transaction (the caller commits)."""
    items = [_Item(s, leads.request_hash(s.data)) for s in subs]
    conn = session.connection()
    params, asked = _lookup_params(items)
    if asked:
        _found(items, conn.exec_driver_sql(LOOKUP, params).all(), asked)
    counting = hits.statement(items)
    if counting is not None:  # its own autocommit statement: counted even if this batch fails
        sql, count_params, counts = counting
        engine = session.get_bind()
        assert isinstance(engine, Engine)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as counter:
            hits.counted(items, counts, counter.exec_driver_sql(sql, count_params).all())

    def says_why(item: _Item) -> Caller:  # no secret, another instance's, revoked, an admin's
        return authenticate(session, item.sub.subdomain, item.sub.secret)

    _admit(items, hits, says_why)
    _replay(session, items)
    todo = _checked(items)
    if not todo:
        return _outcomes(items)
    for group in _by_campaign(todo):
        campaign, found = group[0].campaign, group[0].found
        assert found is not None
        scope = TenantScope(session, campaign.instance_id)
        jobs = judging.campaign_jobs(scope, campaign.id, found.stamp)
        ctx = judging.context_for(session, campaign.instance_id, jobs, max_staleness_s, found.lists)
        _prepare(group, jobs, ctx)
    claimants = _claims(todo)
    earliers = None
    if claimants:
        conn.exec_driver_sql(LOCK_KEYS, keys.lock_params(claimants))
        params, earliers = _probe_params(todo)
        _probed(todo, earliers, conn.exec_driver_sql(PROBE_KEYS, params).all())
    _judge(todo, earliers)
    claiming = earliers is not None
    write = WRITE_CLAIMING if claiming else WRITE
    raced = _written(todo, conn.exec_driver_sql(write, _write_params(todo, claiming)).all())
    _replay(session, raced)
    for statement in lifecycle.integration_work(_created(todo)):
        conn.exec_driver_sql(statement.sql, dict(statement.params))
    return _outcomes(items)


def _created(items: list[_Item]) -> list[tuple[int, int, int, Verdict, judging.CampaignJobs]]:
    """The leads this batch stored (not replays), judged, as integration work needs them."""
    out = []
    for item in items:
        if isinstance(item.outcome, Accepted) and item.outcome.created and item.verdict is not None:
            assert item.jobs is not None
            campaign = item.campaign
            out.append((campaign.instance_id, item.row["id"], campaign.id, item.verdict, item.jobs))
    return out


def _replay(session: Session, items: list[_Item]) -> None:
    params = _earlier_params(items)
    if params is not None:
        _replayed(items, session.connection().exec_driver_sql(EARLIER, params).all())


# --- the fast driver (the event loop, an autocommit connection, two statements) ---------------


async def intake_fast(
    conn: psycopg.AsyncConnection[Any],
    subs: Sequence[Submission],
    hits: Hits,
    max_staleness_s: float | None = None,
    writing: Callable[[], None] | None = None,
) -> list[Outcome]:
    """Answer a usual batch with two statements; raises _Declined for anything unusual.

    Until the write is sent nothing is stored, so any failure before it (a bug included) hands
    the batch to the general driver; after it, see `_WriteUnknown`. `writing` is called once
    the batch is judged, before its last round trip (the write) is sent.
    """
    items = [_Item(s, leads.request_hash(s.data)) for s in subs]
    try:
        return await _fast(conn, items, hits, max_staleness_s, writing or _nothing)
    except (_Declined, _WriteUnknown):
        raise
    except Exception as exc:
        if any("id" in i.row for i in items):  # written: answering again would store twice
            raise _WriteUnknown from exc
        if isinstance(exc, psycopg.Error):
            raise
        log.exception("the fast lead path failed before writing; the general one answers")
        raise _Declined("a failure before the write") from exc


async def _fast(
    conn: psycopg.AsyncConnection[Any],
    items: list[_Item],
    hits: Hits,
    max_staleness_s: float | None,
    writing: Callable[[], None],
) -> list[Outcome]:
    params, asked = _lookup_params(items)
    # Autocommit: the hits are counted at once, whatever happens to the batch.
    params["window"] = hits.limiter.window
    rows = await (await conn.execute(LOOKUP_COUNTING, params)).fetchall()
    general = _found(items, [row[:-2] for row in rows], asked)
    hits.counted_by_lookup(items, rows)
    if general or any(i.found is None or i.found.campaign is None for i in items):
        raise _Declined("an unknown key, a campaign not granted, or a job the fast path lacks")
    contexts = []
    for group in _by_campaign(items):
        found = group[0].found
        assert found is not None
        jobs = judging.cached_campaign_jobs(group[0].campaign.id, found.stamp)
        if jobs is None:
            raise _Declined("jobs to load")
        ctx = judging.ReadyContext(found.lists, jobs.views, max_staleness_s)
        if not ctx.ready(jobs.list_ids):
            raise _Declined("lists to compile")
        contexts.append((group, jobs, ctx))
    _admit(items, hits, _never)
    await _replay_on(conn, items)
    todo = {id(i) for i in _checked(items)}
    for group, jobs, ctx in contexts:
        _prepare([i for i in group if id(i) in todo], jobs, ctx)
    stored = [i for i in items if id(i) in todo]
    if not stored:
        return _outcomes(items)
    if _claims(stored):
        await _claim_and_store(conn, stored, writing)
        return _outcomes(items)
    _judge(stored)
    if not any(i.verdict is not None and lifecycle.integrates(i.verdict) for i in stored):
        writing()
        try:  # autocommit: one statement
            await _store(conn, stored, _write_params(stored), integrate=False)
        except psycopg.OperationalError as exc:
            # The statement may have committed before the connection broke: answering it
            # again could store the leads twice, so each submission is told to retry with
            # its key.
            raise _WriteUnknown from exc
        return _outcomes(items)
    writing()
    try:  # integration work (deliveries) is committed with its leads or not at all
        async with conn.transaction():
            await _store(conn, stored, _write_params(stored), integrate=True)
    except psycopg.OperationalError as exc:  # maybe during the commit: as above
        raise _WriteUnknown from exc
    except psycopg.errors.TransactionRollback as exc:  # a deadlock: nothing stored
        raise _Declined("the transaction was rolled back") from exc
    except Exception as exc:  # rolled back, nothing is stored: the general driver answers
        if not isinstance(exc, psycopg.Error):
            log.exception("the fast lead path failed while writing; the general one answers")
        raise _Declined("the write was rolled back") from exc
    return _outcomes(items)


# The connections that have the claiming statements prepared (PREPARE_CLAIMING).
_PREPARED: weakref.WeakSet[psycopg.AsyncConnection[Any]] = weakref.WeakSet()


async def _claim_and_store(
    conn: psycopg.AsyncConnection[Any], stored: list[_Item], writing: Callable[[], None]
) -> None:
    """Judge and write leads that claim keys, in one transaction of two round trips: BEGIN,
    the lock and the probe (three statements in one message, so the probe sees what committed
    before the lock was granted), then the write and COMMIT (with the integration work before
    the COMMIT when some lead has any). The parameters are bound on the client (a message of
    several statements takes no server-side parameters); the probe and the write are prepared
    statements of the connection."""
    cursor = psycopg.AsyncClientCursor(conn)
    if conn not in _PREPARED:
        await cursor.execute(PREPARE_CLAIMING)
        _PREPARED.add(conn)
    try:
        params, earliers = _probe_params(stored)
        await cursor.execute(CLAIM, keys.lock_params(_claims(stored)) | params)
        while cursor.nextset():  # BEGIN's and the lock's results, then the probe's
            pass
        _probed(stored, earliers, await cursor.fetchall())
        _judge(stored, earliers)
        integrating = any(i.verdict is not None and lifecycle.integrates(i.verdict) for i in stored)
        params = _write_params(stored, claiming=True)
        writing()
        await cursor.execute(WRITE_CLAIMED if integrating else WRITE_AND_COMMIT, params)
        raced = _written(stored, await cursor.fetchall())
        if integrating:
            for statement in lifecycle.integration_work(_created(stored)):
                await conn.execute(statement.sql, statement.params)
            await conn.execute("COMMIT")
    except psycopg.OperationalError as exc:  # maybe during the commit: see _fast
        raise _WriteUnknown from exc
    except Exception as exc:  # nothing is stored: the general driver answers
        await _rolled_back(conn)
        if not isinstance(exc, psycopg.Error):
            log.exception("the fast lead path failed while writing; the general one answers")
        raise _Declined("the transaction was rolled back") from exc
    await _replay_on(conn, raced)  # keys that raced in from elsewhere: their leads' answers


async def _replay_on(conn: psycopg.AsyncConnection[Any], items: list[_Item]) -> None:
    """`_replay` on the fast driver's connection."""
    params = _earlier_params(items)
    if params is not None:
        _replayed(items, await (await conn.execute(EARLIER, params)).fetchall())


async def _rolled_back(conn: psycopg.AsyncConnection[Any]) -> None:
    """End a transaction that failed (a connection in autocommit mode, BEGIN sent by hand)."""
    if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        await conn.execute("ROLLBACK")


async def _store(
    conn: psycopg.AsyncConnection[Any], stored: list[_Item], params: dict[str, str], integrate: bool
) -> None:
    """The write (one statement), replays that raced in, and the integration jobs' work."""
    written = await (await conn.execute(WRITE, params)).fetchall()
    await _replay_on(conn, _written(stored, written))
    if integrate:
        for statement in lifecycle.integration_work(_created(stored)):
            await conn.execute(statement.sql, statement.params)


def _nothing() -> None:
    pass


def _never(item: _Item) -> Caller:
    raise AssertionError("the fast driver only admits keys the lookup found")


# --- batching ----------------------------------------------------------------------------------


class LeadIntake:
    """Gathers the submissions of one API process into batches and writes them with at most
    `writers` writers (each with its own connection):

    - one writer, normally: a batch is what arrived while the previous one was answered;
    - a second one as soon as the first is writing its batch (the last round trip, the
      database's part), so the next batch is looked up and judged meanwhile: the process's
      CPU and the database's work side by side instead of in turn;
    - a second one too when a submission has waited `stall_s` for a batch held up (a lock, a
      slow statement), so a stuck batch holds up no other.

    A writer that finds another judging its batch when its own is answered stops (one that
    finds the other writing, or held up, goes on), so batches stay as big as they were with one
    writer: two writers taking turns all the time halved the batches, which paid their fixed
    costs twice as often (bench/bench_leads.py: 0.43 instead of 0.22 ms of CPU per lead, the
    intake's rate down 37 %).
    """

    def __init__(
        self,
        sessions: Callable[[], Session],
        limiter: RateLimiter,
        database_url: str,
        max_batch: int = MAX_BATCH,
        max_staleness_s: float | None = None,
        writers: int = WRITERS,
        stall_s: float = STALL_S,
    ) -> None:
        self.sessions = sessions
        self.max_staleness_s = max_staleness_s
        self.limiter = limiter
        self.database_url = database_url
        self.max_batch = max_batch
        self.writers = max(1, writers)
        self.stall_s = stall_s
        self._executor: ThreadPoolExecutor | None = None
        # (submission, its answer, when it came) in arrival order
        self._waiting: list[tuple[Submission, asyncio.Future[Outcome], float]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._running: list[asyncio.Task[None]] = []
        self._writing: set[asyncio.Task[None]] = set()  # writers on their batch's last step
        self._watch: asyncio.TimerHandle | None = None
        self._idle: list[psycopg.AsyncConnection[Any]] = []  # the writers' connections, free

    async def submit(self, sub: Submission) -> Outcome:
        """The outcome of a submission, once its batch is committed."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # a new event loop (tests start one per client)
            self._forget_connections()
            self._loop, self._waiting, self._running, self._watch = loop, [], [], None
            self._writing = set()
        future: asyncio.Future[Outcome] = loop.create_future()
        self._waiting.append((sub, future, loop.time()))
        self._running = [w for w in self._running if not w.done()]
        if not self._running or self._all_writing():
            self._start(loop)
        elif self._watch is None and len(self._running) < self.writers:
            self._watch = loop.call_later(self.stall_s, self._help, loop)
        return await future

    def _all_writing(self) -> bool:
        """Whether every writer is on its batch's last step, and another may start."""
        return len(self._running) < self.writers and all(w in self._writing for w in self._running)

    def _start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._running.append(loop.create_task(self._write()))

    def _help(self, loop: asyncio.AbstractEventLoop) -> None:
        """Start another writer when the oldest submission has waited `stall_s`; else look
        again when it will have."""
        self._watch = None
        if not self._waiting or loop is not self._loop:
            return
        self._running = [w for w in self._running if not w.done()]
        waited = loop.time() - self._waiting[0][2]
        if waited >= self.stall_s:
            waited = 0.0  # look again a whole `stall_s` later
            self._start(loop)
            log.info(
                "a batch is held up: another writer takes the %d leads waiting", len(self._waiting)
            )
        if len(self._running) < self.writers:
            self._watch = loop.call_later(self.stall_s - waited, self._help, loop)

    def _last_step(self) -> None:
        """The fast driver is writing this writer's batch: the next batch may start now."""
        task = asyncio.current_task()
        if task is None or self._loop is None:
            return
        self._writing.add(task)
        self._running = [w for w in self._running if not w.done()]
        if self._waiting and self._all_writing():
            self._start(self._loop)

    async def _write(self) -> None:
        me = asyncio.current_task()
        while self._waiting:
            batch = self._waiting[: self.max_batch]
            del self._waiting[: self.max_batch]
            subs = [sub for sub, _, _ in batch]
            started = time.perf_counter()
            try:
                outcomes = await self._answer(subs)
            except Exception as exc:  # every waiter must hear about it
                log.exception("a batch of %d leads failed", len(subs))
                outcomes = [exc] * len(batch)
            finally:
                self._writing.discard(me)
            _count(len(subs), time.perf_counter() - started, outcomes)
            for (_, future, _), outcome in zip(batch, outcomes, strict=True):
                if not future.done():
                    future.set_result(outcome)
            if any(not w.done() and w not in self._writing for w in self._running if w is not me):
                return  # another writer is judging its batch: it takes the next one

    async def _answer(self, subs: list[Submission]) -> list[Outcome]:
        hits = Hits(self.limiter)
        if _distinct_keys(subs):
            connection = None
            try:
                connection = await self._connection()
                return await intake_fast(
                    connection, subs, hits, self.max_staleness_s, self._last_step
                )
            except _Declined:
                pass
            except _WriteUnknown:
                await self._drop(connection)
                connection = None
                log.warning("the connection broke while %d leads were written", len(subs))
                return [_unknown()] * len(subs)
            except psycopg.Error:
                log.warning("the fast lead path failed; the general one answers", exc_info=True)
                await self._drop(connection)
                connection = None
            finally:
                if connection is not None:
                    self._idle.append(connection)
        if self._executor is None:
            # One thread: the general driver's batches are written one after another.
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lead-intake")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, partial(self.run, subs, hits))

    async def _connection(self) -> psycopg.AsyncConnection[Any]:
        """A free connection of the writers (a new one when none is free)."""
        while self._idle:
            conn = self._idle.pop()
            if not conn.closed:
                return conn
        return await psycopg.AsyncConnection.connect(
            self.database_url,
            autocommit=True,
            prepare_threshold=0,
            application_name=f"leadgate-intake-{os.getpid()}",  # which process (ops)
        )

    def _forget_connections(self) -> None:
        """Close the connections of an event loop that is gone (they cannot be awaited there)."""
        for conn in self._idle:
            conn.pgconn.finish()
        self._idle = []

    async def _drop(self, conn: psycopg.AsyncConnection[Any] | None) -> None:
        if conn is not None:
            await conn.close()

    def run(self, subs: list[Submission], hits: Hits | None = None) -> list[Outcome]:
        """Answer submissions with the general driver, in as few transactions as keys allow."""
        hits = hits or Hits(self.limiter)
        outcomes: list[Outcome | None] = [None] * len(subs)
        pending = list(range(len(subs)))
        while pending:  # a key twice in a batch: the second waits for the next round
            seen: set[tuple[str, str | None, str]] = set()
            now, later = [], []
            for index in pending:
                key = _idempotency(subs[index])
                if key is not None and key in seen:
                    later.append(index)
                    continue
                if key is not None:
                    seen.add(key)
                now.append(index)
            answers = self._transaction([subs[i] for i in now], hits)
            for index, outcome in zip(now, answers, strict=True):
                outcomes[index] = outcome
            pending = later
        return [o if o is not None else RuntimeError("no outcome") for o in outcomes]

    def _transaction(
        self, subs: list[Submission], hits: Hits, *, again: bool = False
    ) -> list[Outcome]:
        with self.sessions() as session:
            try:
                outcomes = intake(session, subs, hits, self.max_staleness_s)
            except Exception as exc:
                session.rollback()
                return self._apart(subs, hits, exc, again=again)
            try:
                session.commit()
            except DBAPIError as exc:
                if exc.connection_invalidated or isinstance(exc, OperationalError):
                    log.warning("the connection broke while %d leads were committed", len(subs))
                    return [_unknown()] * len(subs)
                return self._apart(subs, hits, exc, again=again)
            return outcomes

    def _apart(
        self, subs: list[Submission], hits: Hits, exc: Exception, *, again: bool
    ) -> list[Outcome]:
        """After a failed transaction (nothing stored): each submission in its own."""
        if len(subs) > 1:
            log.warning("a batch of %d leads failed (%s); one by one now", len(subs), exc)
            return [self._transaction([sub], hits)[0] for sub in subs]
        if isinstance(exc, IntegrityError) and not again:
            # A row the lead refers to went away meanwhile (a campaign deleted): looked up
            # again, the submission gets its proper answer (404).
            return self._transaction(subs, hits, again=True)
        return [exc]

    async def aclose(self) -> None:
        """Close the fast driver's connections and stop the general driver's thread."""
        if self._loop is asyncio.get_running_loop():
            await asyncio.gather(*self._running, return_exceptions=True)
            idle, self._idle = self._idle, []
            for conn in idle:
                await self._drop(conn)
        else:
            self._forget_connections()
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None


def _count(size: int, seconds: float, outcomes: Sequence[Outcome]) -> None:
    """Metrics of an answered batch: its size and time, and the leads it stored by status."""
    metrics.INTAKE_BATCH.observe(size)
    metrics.INTAKE_SECONDS.observe(seconds)
    for outcome in outcomes:
        if isinstance(outcome, Accepted) and outcome.created:
            metrics.LEADS.labels(outcome.lead.status).inc()


def _unknown() -> OutcomeUnknown:
    return OutcomeUnknown(
        "The lead may or may not be stored: the database connection broke while it was written. "
        "Send it again with the same Idempotency-Key to be sure."
    )


def _idempotency(sub: Submission) -> tuple[str, str | None, str] | None:
    if not sub.idempotency_key:
        return None
    return (sub.subdomain, sub.secret, sub.idempotency_key)


def _distinct_keys(subs: list[Submission]) -> bool:
    keys = [k for s in subs if (k := _idempotency(s)) is not None]
    return len(keys) == len(set(keys))
