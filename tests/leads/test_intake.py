"""Lead intake: batched submissions, the fast and the general driver, caches, keys and processes.

Most tests send leads over real HTTP to a `leadgate serve` process (its batches, its caches, its
own event loop), while the instance is set up through the in-process API on the same database.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from fastapi import FastAPI
from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session, sessionmaker

from leadgate.app import create_app
from leadgate.campaigns.models import Campaign
from leadgate.config import Settings
from leadgate.errors import LeadgateError
from leadgate.kit.ratelimit import RateLimiter
from leadgate.leads.intake import Accepted, Hits, LeadIntake, Submission, intake_fast
from leadgate.leads.models import Lead, LeadHistory
from leadgate.leads.service import request_hash
from tests.factories import Api
from tests.portal.test_publisher_api import Setup
from tests.servers import Server, free_port, server_env, wait_for

# Bodies for Setup's campaign (four jobs of 10 points: company in the list, country US or GB,
# email required, email contains "@") and the verdicts they must get.
VALID = {"company": "Acme", "country": "US", "email": "ann@acme.example", "employees": 120}
VALID_GB = {"company": " globex ", "country": "GB", "email": "bo@globex.example"}
NOT_LISTED = {"company": "Nobody", "country": "US", "email": "x@nobody.example"}
WRONG_COUNTRY = {"company": "acme", "country": "DE", "email": "x@acme.example"}
NO_EMAIL = {"company": "acme", "country": "US"}
VARIANTS: list[tuple[dict[str, Any], tuple[str, int, int]]] = [
    (VALID, ("valid", 40, 40)),
    (VALID_GB, ("valid", 40, 40)),
    (NOT_LISTED, ("invalid", 30, 40)),
    (WRONG_COUNTRY, ("invalid", 30, 40)),
    (NO_EMAIL, ("invalid", 20, 40)),
]


@dataclass(frozen=True)
class Post:
    """One lead submission."""

    path: str
    secret: str | None
    data: dict[str, Any]
    key: str | None = None

    def headers(self) -> dict[str, str]:
        headers = {}
        if self.secret is not None:
            headers["Authorization"] = f"Bearer {self.secret}"
        if self.key is not None:
            headers["Idempotency-Key"] = self.key
        return headers


@dataclass
class Case:
    """A submission and the answer it must get: a status, a problem code or a verdict."""

    post: Post
    status: int
    code: str | None = None
    verdict: tuple[str, int, int] | None = None
    publisher_id: int | None = None
    lead_id: int | None = None  # of the lead stored, or the one a replay answers with
    answer: httpx.Response | None = field(default=None, repr=False)


def leads_path(api: Api, campaign_id: int) -> str:
    return f"{api.base}/publisher/campaigns/{campaign_id}/leads"


async def _send(posts: list[Post], base_url: str, app: FastAPI | None) -> list[httpx.Response]:
    transport = (
        httpx.ASGITransport(app=app, raise_app_exceptions=False) if app is not None else None
    )
    limits = httpx.Limits(max_connections=len(posts), max_keepalive_connections=len(posts))
    try:
        async with httpx.AsyncClient(
            base_url=base_url, transport=transport, limits=limits, timeout=60
        ) as client:
            answers = await asyncio.gather(
                *(client.post(p.path, json={"data": p.data}, headers=p.headers()) for p in posts)
            )
            return list(answers)
    finally:
        if app is not None:  # its intake lives on this event loop
            await app.state.lead_intake.aclose()


def send(
    posts: list[Post], *, to: Server | None = None, app: FastAPI | None = None
) -> list[httpx.Response]:
    """Send the submissions all at once, to a server or to an in-process app; their answers."""
    base_url = to.url if to is not None else "http://leadgate.test"
    return asyncio.run(_send(posts, base_url, app))


def waiting_writes(sessions: sessionmaker[Session]) -> list[int]:
    """The backends whose lead write waits for another transaction's lock."""
    with sessions() as session:
        pids = session.scalars(
            text(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND query LIKE '%INSERT INTO leads%'"
            )
        ).all()
    return list(pids)


def send_batched(
    server: Server,
    sessions: sessionmaker[Session],
    campaign_id: int,
    posts: list[Post],
    meanwhile: Callable[[Session], None] | None = None,
) -> list[httpx.Response]:
    """`send`, with the campaign's row locked until the first batch to write waits for it: the
    submissions arriving meanwhile queue up and are answered together, in the next batch.
    `meanwhile` runs in the locking transaction while that write waits (then it commits)."""
    with sessions() as lock, ThreadPoolExecutor(1) as pool:
        lock.execute(select(Campaign.id).where(Campaign.id == campaign_id).with_for_update())
        answers = pool.submit(send, posts, to=server)
        try:
            wait_for(lambda: waiting_writes(sessions))
            if meanwhile is not None:
                meanwhile(lock)
            lock.commit()
        finally:
            lock.rollback()
        return answers.result(timeout=60)


def send_one(server: Server, post: Post) -> httpx.Response:
    return httpx.post(
        server.url + post.path, json={"data": post.data}, headers=post.headers(), timeout=30
    )


@dataclass
class Stored:
    lead: Lead
    history: list[tuple[str, dict[str, Any]]]


def stored(sessions: sessionmaker[Session], *campaign_ids: int) -> dict[int, Stored]:
    """The leads of these campaigns, by id, with their history oldest first."""
    with sessions() as session:
        leads = session.scalars(select(Lead).where(Lead.campaign_id.in_(campaign_ids))).all()
        rows = session.execute(
            select(LeadHistory.lead_id, LeadHistory.event, LeadHistory.detail)
            .where(LeadHistory.lead_id.in_([lead.id for lead in leads]))
            .order_by(LeadHistory.id)
        ).all()
    found = {lead.id: Stored(lead, []) for lead in leads}
    for lead_id, event, detail in rows:
        found[lead_id].history.append((event, detail))
    return found


def assert_judged_once(s: Stored, publisher_id: int) -> None:
    """A lead accepted and judged in one go: received, judged, status_changed, nothing else."""
    lead = s.lead
    assert lead.judged_at is not None
    assert [event for event, _ in s.history] == ["received", "judged", "status_changed"], s.history
    (_, received), (_, judged), (_, changed) = s.history
    assert received == {"publisher_id": publisher_id}
    assert judged["trigger"] == "received"
    assert (judged["status"], judged["score"], judged["max_score"]) == (
        lead.status,
        lead.score,
        lead.max_score,
    )
    assert changed["from"] == "pending" and changed["to"] == lead.status
    assert changed["by"] == "processr"


def assert_answer_is_the_stored_lead(answer: dict[str, Any], lead: Lead) -> None:
    assert (answer["status"], answer["score"], answer["max_score"], answer["flags"]) == (
        lead.status,
        lead.score,
        lead.max_score,
        lead.flags,
    )


@pytest.fixture(scope="module")
def server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One `leadgate serve` process on the test database."""
    port = free_port()
    logs = tmp_path_factory.mktemp("intake")
    srv = Server(port, server_env(database_url, port), logs / "server.log").start()
    try:
        yield srv
    finally:
        srv.stop()


# --- 1. batches of mixed submissions --------------------------------------------------------------


def test_concurrent_mixed_submissions_each_get_their_own_answer(
    server: Server, acme: Api, other: Api, sessions: sessionmaker[Session]
) -> None:
    s = Setup(acme)
    path = leads_path(acme, s.cid)
    pub_b, key_b = acme.publisher("Second")
    acme.ok("PUT", f"/campaigns/{s.cid}/publishers/{pub_b['id']}", 204)
    revoked = acme.ok("POST", f"/publishers/{s.pub['id']}/api-keys", 201)
    acme.ok("DELETE", f"/publishers/{s.pub['id']}/api-keys/{revoked['id']}", 204)
    closed = {}
    for status in ("paused", "ended"):
        cid = acme.campaign(status.title())["id"]
        acme.ok("PUT", f"/campaigns/{cid}/publishers/{s.pub['id']}", 204)
        acme.ok("PATCH", f"/campaigns/{cid}", json={"status": status})
        closed[status] = cid
    ungranted = acme.campaign("Not granted")["id"]
    _, foreign = other.publisher()

    # Two leads sent earlier with Idempotency-Keys (they also warm the server's caches).
    earlier = {}
    for n in (1, 2):
        r = send_one(server, Post(path, s.key, VALID | {"firstName": f"Early {n}"}, f"early-{n}"))
        assert r.status_code == 201, r.text
        earlier[n] = r.json()["id"]

    pubs = {s.key: s.pub["id"], key_b["key"]: pub_b["id"]}
    valid = []
    for i in range(39):
        data, verdict = VARIANTS[i % len(VARIANTS)]
        secret = s.key if i % 2 == 0 else key_b["key"]
        post = Post(
            path, secret, data | {"firstName": f"Lead {i}"}, f"burst-{i}" if i % 4 else None
        )
        valid.append(Case(post, 201, verdict=verdict, publisher_id=pubs[secret]))
    unknown = [
        Case(
            Post(path, s.key, VALID | {"firstName": f"Bad {i}", "favouriteColour": "red"}),
            422,
            "unknown_fields",
        )
        for i in range(10)
    ]
    replays = [
        Case(
            Post(path, s.key, VALID | {"firstName": "Early 1"}, "early-1"), 200, lead_id=earlier[1]
        )
        for _ in range(2)
    ]
    # Two waves: the usual kind (known keys, warm caches: the fast driver's), then one with
    # unknown, revoked, foreign and admin keys and campaigns not granted or closed.
    first = [*valid[:23], *unknown[:5], replays[0]]
    first.append(Case(Post(path, s.key, NOT_LISTED, "early-2"), 409, "idempotency_conflict"))
    second = [
        *valid[23:],
        *unknown[5:],
        replays[1],
        Case(Post(path, revoked["key"], VALID), 401, "unauthorized"),
        Case(Post(path, foreign["key"], VALID), 401, "unauthorized"),
        Case(Post(path, "lgp_not-a-key", VALID), 401, "unauthorized"),
        Case(Post(path, None, VALID), 401, "unauthorized"),
        Case(Post(path, acme.token, VALID), 404, "not_found"),
        Case(Post(leads_path(acme, ungranted), s.key, VALID), 404, "campaign_not_found"),
        Case(Post(leads_path(acme, closed["paused"]), s.key, VALID), 403, "campaign_paused"),
        Case(Post(leads_path(acme, closed["ended"]), s.key, VALID), 403, "campaign_ended"),
    ]
    random.Random(7).shuffle(first)
    random.Random(8).shuffle(second)
    cases = first + second
    assert len(cases) == 60

    answers = []
    for wave in (first, second):
        answers += send_batched(server, sessions, s.cid, [c.post for c in wave])
    for case, answer in zip(cases, answers, strict=True):
        case.answer = answer
        assert answer.status_code == case.status, (case.post, answer.text)
        if case.status == 201:
            case.lead_id = answer.json()["id"]
        if case.code is not None:
            assert answer.json()["code"] == case.code, answer.text
    for case in cases:
        if case.status == 422:
            assert case.answer is not None and case.answer.json()["fields"] == ["favouriteColour"]

    leads = stored(sessions, s.cid, ungranted, *closed.values())
    created = {c.lead_id: c for c in cases if c.status == 201 and c.lead_id is not None}
    assert len(created) == 39
    assert set(leads) == set(created) | set(earlier.values())
    for lead_id, case in created.items():
        row = leads[lead_id]
        assert case.answer is not None and case.publisher_id is not None
        answer = case.answer.json()
        assert (answer["status"], answer["score"], answer["max_score"]) == case.verdict
        assert row.lead.data == case.post.data and row.lead.campaign_id == s.cid
        assert row.lead.publisher_id == case.publisher_id
        assert row.lead.idempotency_key == case.post.key
        assert_answer_is_the_stored_lead(answer, row.lead)
        assert_judged_once(row, case.publisher_id)
    for case in cases:
        if case.status == 200:
            assert case.answer is not None and case.answer.json()["id"] == case.lead_id
    # Replays and conflicts changed nothing on the earlier leads.
    for n, lead_id in earlier.items():
        assert leads[lead_id].lead.data == VALID | {"firstName": f"Early {n}"}
        assert_judged_once(leads[lead_id], s.pub["id"])

    # Each wave was written in batches (a batch is written in one transaction: its leads share
    # now()), else this test would not be testing batching at all.
    for wave in (first, second):
        ids = [c.lead_id for c in wave if c.status == 201 and c.lead_id is not None]
        batches = Counter(leads[i].lead.created_at for i in ids)
        assert max(batches.values()) > 1, f"no batch formed: {sorted(batches.values())}"


# --- 2. one Idempotency-Key at once, here or elsewhere --------------------------------------------


def _only_lead_with_key(
    sessions: sessionmaker[Session], campaign_id: int, key: str
) -> tuple[Stored, int]:
    rows = [s for s in stored(sessions, campaign_id).values() if s.lead.idempotency_key == key]
    assert len(rows) == 1, f"{len(rows)} leads stored with the key {key}"
    return rows[0], rows[0].lead.id


def test_one_idempotency_key_sent_concurrently(
    server: Server, acme: Api, sessions: sessionmaker[Session]
) -> None:
    s = Setup(acme)
    path = leads_path(acme, s.cid)

    answers = send_batched(server, sessions, s.cid, [Post(path, s.key, VALID, "same")] * 10)
    assert sorted(a.status_code for a in answers) == [200] * 9 + [201], [a.text for a in answers]
    row, lead_id = _only_lead_with_key(sessions, s.cid, "same")
    assert {a.json()["id"] for a in answers} == {lead_id}
    assert_judged_once(row, s.pub["id"])  # replays add no history

    # Two bodies with one key: the first stored wins, the same body replays it, the other is 409.
    bodies: list[dict[str, Any]] = [VALID, NOT_LISTED]
    posts = [Post(path, s.key, bodies[i % 2], "two-bodies") for i in range(10)]
    answers = send_batched(server, sessions, s.cid, posts)
    codes = [a.status_code for a in answers]
    assert codes.count(201) == 1 and set(codes) <= {200, 201, 409}, [a.text for a in answers]
    winner = posts[codes.index(201)].data
    row, lead_id = _only_lead_with_key(sessions, s.cid, "two-bodies")
    assert row.lead.data == winner
    for post, answer in zip(posts, answers, strict=True):
        if post.data == winner:
            assert answer.status_code in (200, 201) and answer.json()["id"] == lead_id
        else:
            assert answer.status_code == 409, answer.text
            assert answer.json()["code"] == "idempotency_conflict"
    assert_judged_once(row, s.pub["id"])

    # Keys belong to the publisher, not to one API key of it (a key being rotated).
    second = acme.ok("POST", f"/publishers/{s.pub['id']}/api-keys", 201)["key"]
    posts = [Post(path, (s.key, second)[i % 2], WRONG_COUNTRY, "rotated") for i in range(10)]
    answers = send_batched(server, sessions, s.cid, posts)
    assert sorted(a.status_code for a in answers) == [200] * 9 + [201], [a.text for a in answers]
    row, lead_id = _only_lead_with_key(sessions, s.cid, "rotated")
    assert {a.json()["id"] for a in answers} == {lead_id}
    assert_judged_once(row, s.pub["id"])


def test_a_key_stored_meanwhile_by_another_process_is_answered(
    acme: Api, sessions: sessionmaker[Session], database_url: str
) -> None:
    """Another process stores the key between our look-up and our write (its transaction is
    still open when we write): the submission is answered with that lead, or 409, never 500."""
    s = Setup(acme)
    limiter = RateLimiter(1000, 60)
    intake = LeadIntake(sessions, limiter, database_url)
    assert isinstance(intake.run([Submission(acme.subdomain, s.key, s.cid, VALID)])[0], Accepted)

    def general(subs: list[Submission]) -> list[Any]:
        return intake.run(subs)

    def fast(subs: list[Submission]) -> list[Any]:  # the caches are warm: it must not decline
        return asyncio.run(_fast(database_url, subs, limiter))

    for driver in (general, fast):
        for body, status in ((VALID, 200), (NOT_LISTED, 409)):
            key = f"{driver.__name__}-{status}"
            sub = Submission(acme.subdomain, s.key, s.cid, body, key)
            with sessions() as elsewhere, ThreadPoolExecutor(1) as pool:
                theirs = Lead(
                    instance_id=acme.instance_id,
                    campaign_id=s.cid,
                    publisher_id=s.pub["id"],
                    data=VALID,
                    status="valid",
                    score=40,
                    max_score=40,
                    idempotency_key=key,
                    request_hash=request_hash(VALID),
                )
                elsewhere.add(theirs)
                elsewhere.flush()
                answer = pool.submit(driver, [sub])
                wait_for(lambda: waiting_writes(sessions))
                elsewhere.commit()
                outcome = answer.result(timeout=30)[0]
            if status == 200:
                assert isinstance(outcome, Accepted), outcome
                assert (outcome.lead.id, outcome.created) == (theirs.id, False)
            else:
                assert isinstance(outcome, LeadgateError), outcome
                assert (outcome.status, outcome.code) == (409, "idempotency_conflict")
            rows = [r for r in stored(sessions, s.cid).values() if r.lead.idempotency_key == key]
            assert [r.lead.id for r in rows] == [theirs.id]
            assert rows[0].history == []  # the skipped write added no history to their lead


# --- 3. failures while writing --------------------------------------------------------------------


def test_big_integers_are_stored_as_sent(
    settings: Settings, database_url: str, acme: Api, sessions: sessionmaker[Session]
) -> None:
    """An integer beyond 64 bits (jsonb holds it) in a batch, with either driver."""
    s = Setup(acme)
    path = leads_path(acme, s.cid)
    app = create_app(settings, database_url)
    for driver in ("general (cold caches)", "fast (warm caches)"):
        posts = [Post(path, s.key, VALID | {"firstName": f"{driver} {i}"}) for i in range(5)]
        huge = VALID | {"firstName": driver, "employees": 10**30}
        posts.insert(2, Post(path, s.key, huge, f"huge {driver}"))
        answers = send(posts, app=app)
        assert [a.status_code for a in answers] == [201] * 6, [a.text for a in answers]
        assert stored(sessions, s.cid)[answers[2].json()["id"]].lead.data == huge
        again = send([posts[2]], app=app)[0]
        assert (again.status_code, again.json()["id"]) == (200, answers[2].json()["id"])


def test_a_lead_the_database_refuses_takes_down_only_itself(
    server: Server, acme: Api, sessions: sessionmaker[Session]
) -> None:
    """A campaign is deleted while a batch holding leads for it and for another campaign is
    being written: the write fails as a whole, and every submission is answered on its own."""
    s = Setup(acme)
    doomed = []
    for driver in ("general", "fast"):
        cid = acme.campaign(f"Doomed {driver}")["id"]
        acme.ok("PUT", f"/campaigns/{cid}/publishers/{s.pub['id']}", 204)
        if driver == "fast":  # warm caches for both campaigns
            for campaign_id in (cid, s.cid):
                post = Post(leads_path(acme, campaign_id), s.key, VALID)
                assert send_one(server, post).status_code == 201
        doomed.append(cid)

        def drop(session: Session, cid: int = cid) -> None:
            session.execute(delete(Campaign).where(Campaign.id == cid))

        posts = [
            Post(leads_path(acme, (cid, s.cid)[i % 2]), s.key, VALID | {"firstName": f"{i}"})
            for i in range(10)
        ]
        answers = send_batched(server, sessions, cid, posts, meanwhile=drop)
        assert [a.status_code for a in answers] == [404, 201] * 5, [a.text for a in answers]
        assert {a.json()["code"] for a in answers[::2]} == {"campaign_not_found"}
        leads = stored(sessions, s.cid)
        for post, answer in zip(posts[1::2], answers[1::2], strict=True):
            row = leads[answer.json()["id"]]
            assert row.lead.data == post.data
            assert_judged_once(row, s.pub["id"])
    assert not stored(sessions, *doomed)


def test_a_batch_waiting_on_the_database_does_not_hold_up_the_next(
    server: Server, acme: Api, sessions: sessionmaker[Session]
) -> None:
    """A process writes two batches at once: while one waits for a lock (here a campaign row
    another transaction holds), the leads of another campaign are stored and answered."""
    s = Setup(acme)
    held = acme.campaign("Held")["id"]
    acme.ok("PUT", f"/campaigns/{held}/publishers/{s.pub['id']}", 204)
    for campaign_id in (held, s.cid):  # warm caches: both go the fast way
        assert (
            send_one(server, Post(leads_path(acme, campaign_id), s.key, VALID)).status_code == 201
        )
    with sessions() as lock, ThreadPoolExecutor(1) as pool:
        lock.execute(select(Campaign.id).where(Campaign.id == held).with_for_update())
        waiting = pool.submit(send_one, server, Post(leads_path(acme, held), s.key, VALID))
        try:
            wait_for(lambda: waiting_writes(sessions))
            other = httpx.post(
                server.url + leads_path(acme, s.cid),
                json={"data": VALID_GB},
                headers={"Authorization": f"Bearer {s.key}"},
                timeout=15,
            )
            assert other.status_code == 201, other.text
            assert other.json()["status"] == "valid"
            assert waiting_writes(sessions) and not waiting.done()
            lock.commit()
        finally:
            lock.rollback()
        answer = waiting.result(timeout=60)
    assert answer.status_code == 201, answer.text
    leads = stored(sessions, held, s.cid)
    assert_judged_once(leads[answer.json()["id"]], s.pub["id"])
    assert_judged_once(leads[other.json()["id"]], s.pub["id"])


def test_the_next_batch_is_judged_while_one_is_written(
    acme: Api, sessions: sessionmaker[Session], database_url: str
) -> None:
    """A process starts its next batch as soon as a batch is being written, not when it is
    answered: a lead of another campaign is stored and answered while a write waits for a lock
    (a campaign row another transaction holds), with no help from the held-up writer's timer."""
    s = Setup(acme)
    held = acme.campaign("Held")["id"]
    acme.ok("PUT", f"/campaigns/{held}/publishers/{s.pub['id']}", 204)
    intake = LeadIntake(sessions, RateLimiter(1000, 60), database_url, stall_s=600)

    def sub(campaign_id: int) -> Submission:
        return Submission(acme.subdomain, s.key, campaign_id, VALID)

    async def scenario(lock: Session) -> tuple[Any, Any]:
        for campaign_id in (held, s.cid):  # warm caches: both go the fast way
            assert isinstance(await intake.submit(sub(campaign_id)), Accepted)
        lock.execute(select(Campaign.id).where(Campaign.id == held).with_for_update())
        writing = asyncio.ensure_future(intake.submit(sub(held)))
        deadline = time.monotonic() + 30
        while not waiting_writes(sessions):  # its write waits for the lock
            assert time.monotonic() < deadline and not writing.done()
            await asyncio.sleep(0.01)
        first = asyncio.ensure_future(intake.submit(sub(s.cid)))
        while len(intake._running) < 2 or intake._waiting:  # another writer took it
            assert time.monotonic() < deadline
            await asyncio.sleep(0)
        # A lead that comes meanwhile is taken next by the same writer (not left behind the
        # held-up one): the timer that would start another writer is 600 s away.
        other = await asyncio.wait_for(intake.submit(sub(s.cid)), timeout=30)
        assert isinstance(await asyncio.wait_for(first, timeout=30), Accepted)
        still_waiting = bool(waiting_writes(sessions)) and not writing.done()
        lock.commit()
        answer = await asyncio.wait_for(writing, timeout=30)
        await intake.aclose()
        assert still_waiting
        return answer, other

    with sessions() as lock:
        try:
            answer, other = asyncio.run(scenario(lock))
        finally:
            lock.rollback()
    assert isinstance(answer, Accepted) and isinstance(other, Accepted), (answer, other)
    leads = stored(sessions, held, s.cid)
    assert_judged_once(leads[answer.lead.id], s.pub["id"])
    assert_judged_once(leads[other.lead.id], s.pub["id"])


def test_a_connection_lost_while_writing_answers_503_and_the_key_makes_it_safe(
    server: Server, acme: Api, sessions: sessionmaker[Session]
) -> None:
    s = Setup(acme)
    path = leads_path(acme, s.cid)
    assert send_one(server, Post(path, s.key, VALID)).status_code == 201  # warm caches

    def cut(session: Session) -> None:  # the fast driver's connection, during its write
        for pid in waiting_writes(sessions):
            session.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})

    posts = [Post(path, s.key, VALID | {"firstName": f"c{i}"}, f"cut-{i}") for i in range(8)]
    answers = send_batched(server, sessions, s.cid, posts, meanwhile=cut)
    codes = [a.status_code for a in answers]
    assert 503 in codes and set(codes) <= {201, 503}, [a.text for a in answers]
    unknown = [p for p, a in zip(posts, answers, strict=True) if a.status_code == 503]
    for answer in answers:
        if answer.status_code == 503:
            assert answer.json()["code"] == "outcome_unknown"
    # Sent again with their keys: stored once each, whatever the first attempt did.
    again = send(unknown, to=server)
    assert {a.status_code for a in again} <= {200, 201}, [a.text for a in again]
    keys = [row.lead.idempotency_key for row in stored(sessions, s.cid).values()]
    assert sorted(k for k in keys if k) == sorted(p.key for p in posts if p.key)
    for row in stored(sessions, s.cid).values():
        assert_judged_once(row, s.pub["id"])


# --- 4. the two drivers judge alike, and caches follow changes ------------------------------------


def _rich_processr(acme: Api) -> Setup:
    """Setup's campaign plus a hardfail suppression list, ANY conditions, a group with a catch-all
    and a zero-score job."""
    s = Setup(acme)
    blocked = acme.ok(
        "POST", "/lists", 201, json={"name": "Blocked", "values": ["mailinator.com", "spam.test"]}
    )
    jobs: list[dict[str, Any]] = [
        {
            "type": "validation_list",
            "config": {
                "list_id": blocked["id"],
                "field_name": "email",
                "operator": "endswith",
                "rule": "fail",
            },
            "hardfail": True,
        },
        {
            "type": "conditional_validation",
            "config": {
                "overall": "ANY",
                "sections": [
                    {"field_name": "employees", "operator": "GREATERTHAN", "values": ["50"]},
                    {
                        "field_name": "company",
                        "operator": "CONTAINS",
                        "values": ["corp"],
                        "case_sensitive": False,
                    },
                ],
            },
            "score": 30,
        },
        {
            "type": "simple_conditional_validation",
            "config": {"field_name": "employees", "operator": "LESSTHAN", "values": ["10000"]},
            "group": "region",
            "condition": {"field": "country", "values": ["US"]},
        },
        {
            "type": "required_fields",
            "config": {"fields": ["firstName"]},
            "group": "region",
            "catch_all": True,
        },
        {
            "type": "simple_conditional_validation",
            "config": {"field_name": "firstName", "operator": "EXISTS"},
            "score": 0,
        },
    ]
    for job in jobs:
        acme.ok("POST", f"/campaigns/{s.cid}/jobs", 201, json=job)
    return s


RICH_BODIES: list[dict[str, Any]] = [
    {"firstName": "Ann", "company": "Acme", "country": "US", "email": "a@x.io", "employees": 120},
    {
        "firstName": "Al",
        "company": "Acme Corp",
        "country": "US",
        "email": "al@x.io",
        "employees": 9,
    },
    {"firstName": "Bo", "company": "Globex Corp", "country": "GB", "email": "b@globex.example"},
    {"firstName": "Cy", "company": "acme", "country": "US", "email": "c@mailinator.com"},
    {"firstName": "Di", "company": " GLOBEX ", "country": "DE", "email": "d@globex.example"},
    {"company": "Initech", "country": "DE", "email": "e@initech.example", "employees": "many"},
    {"company": "acme", "country": "us", "employees": 20000},
    {"firstName": "", "company": "Globex", "country": "GB", "email": "f@spam.test"},
    {},
]


def _verdicts(outcomes: list[Any]) -> list[dict[str, Any]]:
    out = []
    for outcome in outcomes:
        assert isinstance(outcome, Accepted) and outcome.created, outcome
        out.append(outcome.lead.model_dump(mode="json", exclude={"id", "updated_at"}))
    return out


def _judgements(
    sessions: sessionmaker[Session], campaign_id: int, outcomes: list[Any]
) -> list[tuple[Any, ...]]:
    """What the database holds of each lead's judging, lead ids and times left out."""
    rows = stored(sessions, campaign_id)
    result = []
    for outcome in outcomes:
        row = rows[outcome.lead.id]
        lead = row.lead
        assert lead.judged_at is not None
        result.append(
            (lead.data, lead.status, lead.score, lead.max_score, lead.flags, lead.jobs, row.history)
        )
    return result


async def _fast(database_url: str, subs: list[Submission], limiter: RateLimiter) -> list[Any]:
    async with await psycopg.AsyncConnection.connect(
        database_url, autocommit=True, prepare_threshold=0
    ) as conn:
        return await intake_fast(conn, subs, Hits(limiter))


def test_fast_and_general_drivers_judge_alike(
    acme: Api, sessions: sessionmaker[Session], database_url: str
) -> None:
    s = _rich_processr(acme)
    subs = [Submission(acme.subdomain, s.key, s.cid, body) for body in RICH_BODIES]
    limiter = RateLimiter(1000, 60)
    intake = LeadIntake(sessions, limiter, database_url)

    general = intake.run(subs)  # cold caches: the general driver fills them
    fast = asyncio.run(_fast(database_url, subs, limiter))  # raises _Declined if it cannot
    warm_general = intake.run(subs)

    expected = _verdicts(general)
    assert {v["status"] for v in expected} == {"valid", "caution", "invalid"}, expected
    assert expected[0] == {"status": "valid", "score": 90, "max_score": 90, "flags": []}
    hardfailed = expected[3]
    assert hardfailed["status"] == "invalid"
    assert "validation_list.match" in {f["code"] for f in hardfailed["flags"]}, hardfailed
    assert _verdicts(fast) == expected
    assert _verdicts(warm_general) == expected
    judged = _judgements(sessions, s.cid, general)
    assert [j[0] for j in judged] == RICH_BODIES
    assert _judgements(sessions, s.cid, fast) == judged
    assert _judgements(sessions, s.cid, warm_general) == judged
    rows = stored(sessions, s.cid)
    assert len(rows) == 3 * len(RICH_BODIES)
    for row in rows.values():
        assert_judged_once(row, s.pub["id"])


def test_job_and_list_changes_apply_to_the_very_next_lead(
    server: Server, acme: Api, sessions: sessionmaker[Session]
) -> None:
    s = Setup(acme)
    path = leads_path(acme, s.cid)
    body = {"company": "Initech", "country": "DE", "email": "a@initech.example"}

    def judged_twice() -> dict[str, Any]:
        """The verdict of the next lead (the server may need to reload), then of one after it
        (warm caches: the fast driver); both must agree."""
        rs = [send_one(server, Post(path, s.key, body)) for _ in range(2)]
        assert [r.status_code for r in rs] == [201, 201], [r.text for r in rs]
        verdicts = [{k: r.json()[k] for k in ("status", "score", "max_score", "flags")} for r in rs]
        assert verdicts[0] == verdicts[1]
        return verdicts[0]

    def failing(verdict: dict[str, Any]) -> set[int]:
        return {f["job_id"] for f in verdict["flags"]}

    before = judged_twice()
    assert (before["score"], before["max_score"]) == (20, 40)
    assert failing(before) == {s.list_job["id"], s.cond_job["id"]}

    cond = {"field_name": "country", "operator": "EQUAL", "values": ["US", "GB", "DE"]}
    acme.ok("PATCH", f"/campaigns/{s.cid}/jobs/{s.cond_job['id']}", json={"config": cond})
    after_job = judged_twice()
    assert (after_job["score"], failing(after_job)) == (30, {s.list_job["id"]})

    acme.ok("PATCH", f"/lists/{s.list['id']}/values", json={"add": ["initech"]})
    after_add = judged_twice()
    assert (after_add["status"], after_add["score"], after_add["flags"]) == ("valid", 40, [])

    csv = b"value\nacme\nglobex\n"
    imported = acme.ok(
        "POST",
        f"/lists/{s.list['id']}/import?mode=replace",
        content=csv,
        headers={"Content-Type": "text/csv"},
    )
    assert imported["value_count"] == 2
    after_import = judged_twice()
    assert (after_import["score"], failing(after_import)) == (30, {s.list_job["id"]})

    acme.ok(
        "POST",
        f"/lists/{s.list['id']}/import?mode=add",
        content=b"initech\n",
        headers={"Content-Type": "text/csv"},
    )
    assert judged_twice()["status"] == "valid"

    extra = s.job(
        "simple_conditional_validation",
        {"field_name": "employees", "operator": "EXISTS"},
        visible=False,
    )
    added = judged_twice()
    assert (added["score"], added["max_score"], failing(added)) == (40, 50, {extra["id"]})
    acme.ok("DELETE", f"/campaigns/{s.cid}/jobs/{extra['id']}", 204)
    removed = judged_twice()
    assert (removed["score"], removed["max_score"]) == (40, 40)

    for row in stored(sessions, s.cid).values():
        assert_judged_once(row, s.pub["id"])


# --- 5. keys and grants take effect at once -------------------------------------------------------


def test_revoked_key_is_refused_on_the_next_lead(
    server: Server, acme: Api, sessions: sessionmaker[Session]
) -> None:
    s = Setup(acme)
    path = leads_path(acme, s.cid)
    spare = acme.ok("POST", f"/publishers/{s.pub['id']}/api-keys", 201)
    for n in range(3):  # the fast driver has seen the key, with warm caches
        post = Post(path, spare["key"], VALID | {"firstName": f"n{n}"}, f"spare-{n}")
        assert send_one(server, post).status_code == 201

    acme.ok("DELETE", f"/publishers/{s.pub['id']}/api-keys/{spare['id']}", 204)
    r = send_one(server, Post(path, spare["key"], VALID))
    assert r.status_code == 401 and r.json()["code"] == "unauthorized", r.text
    # Not even a replay of a lead it sent: the key is worthless now.
    r = send_one(server, Post(path, spare["key"], VALID | {"firstName": "n0"}, "spare-0"))
    assert r.status_code == 401, r.text
    # In one batch with a live key of the same publisher: only the revoked key's leads fail.
    posts = [
        Post(path, (spare["key"], s.key)[i % 2], VALID | {"firstName": f"m{i}"}) for i in range(8)
    ]
    answers = send_batched(server, sessions, s.cid, posts)
    assert [a.status_code for a in answers] == [401, 201] * 4, [a.text for a in answers]
    leads = stored(sessions, s.cid)
    assert len(leads) == 3 + 4
    assert {a.json()["id"] for a in answers[1::2]} <= set(leads)

    # A grant withdrawn, then given back; a campaign paused: the next lead knows.
    acme.ok("DELETE", f"/campaigns/{s.cid}/publishers/{s.pub['id']}", 204)
    r = send_one(server, Post(path, s.key, VALID))
    assert r.status_code == 404 and r.json()["code"] == "campaign_not_found", r.text
    acme.ok("PUT", f"/campaigns/{s.cid}/publishers/{s.pub['id']}", 204)
    assert send_one(server, Post(path, s.key, VALID)).status_code == 201
    acme.ok("PATCH", f"/campaigns/{s.cid}", json={"status": "paused"})
    r = send_one(server, Post(path, s.key, VALID))
    assert r.status_code == 403 and r.json()["code"] == "campaign_paused", r.text
    assert len(stored(sessions, s.cid)) == 3 + 4 + 1


# --- 6. rate limit --------------------------------------------------------------------------------


def test_rate_limit_refuses_only_what_is_over_it(
    settings: Settings, database_url: str, acme: Api, sessions: sessionmaker[Session]
) -> None:
    s = Setup(acme)
    path = leads_path(acme, s.cid)
    pub_b, key_b = acme.publisher("Within limits")
    acme.ok("PUT", f"/campaigns/{s.cid}/publishers/{pub_b['id']}", 204)
    limited = create_app(settings.model_copy(update={"rate_limit_requests": 4}), database_url)

    posts = [Post(path, s.key, VALID | {"firstName": f"a{i}"}, f"a-{i}") for i in range(7)]
    posts += [Post(path, key_b["key"], VALID | {"firstName": f"b{i}"}, f"b-{i}") for i in range(3)]
    answers = send(posts, app=limited)
    codes = [a.status_code for a in answers]
    assert sorted(codes[:7]) == [201] * 4 + [429] * 3 and codes[7:] == [201] * 3, codes
    for answer in answers:
        if answer.status_code == 429:
            assert answer.json()["code"] == "rate_limited"
            assert 1 <= int(answer.headers["retry-after"]) <= 300
    refused = {p.key for p, a in zip(posts, answers, strict=True) if a.status_code == 429}
    leads = stored(sessions, s.cid).values()
    assert {row.lead.idempotency_key for row in leads} == {p.key for p in posts} - refused

    # Over the limit, even a replay of an accepted lead waits.
    accepted = next(p for p, a in zip(posts, answers, strict=True) if a.status_code == 201)
    again = send([accepted], app=limited)[0]
    assert again.status_code == 429 and "retry-after" in again.headers
    assert len(stored(sessions, s.cid)) == 7


def test_a_failed_batch_does_not_count_against_the_rate_limit_twice(
    acme: Api, sessions: sessionmaker[Session], database_url: str
) -> None:
    """The database refuses one lead of a batch (NUL in text, which the HTTP edge refuses
    earlier): the batch is answered again one lead per transaction, and its submissions count
    once against the limit, so the two good ones are stored, not refused with 429."""
    s = Setup(acme)
    intake = LeadIntake(sessions, RateLimiter(3, 300), database_url)
    subs = [
        Submission(acme.subdomain, s.key, s.cid, VALID | {"firstName": "Ann"}),
        Submission(acme.subdomain, s.key, s.cid, VALID | {"firstName": "Nul\x00"}),
        Submission(acme.subdomain, s.key, s.cid, VALID | {"firstName": "Bob"}),
    ]
    first, refused, last = intake.run(subs)
    assert isinstance(first, Accepted) and isinstance(last, Accepted), (first, last)
    assert not isinstance(refused, Accepted)
    assert len(stored(sessions, s.cid)) == 2
    over = intake.run([Submission(acme.subdomain, s.key, s.cid, VALID)])[0]
    assert getattr(over, "code", None) == "rate_limited"


# --- 7. several processes -------------------------------------------------------------------------


SERVE = [sys.executable, "-m", "leadgate", "serve"]


def _children(pid: int) -> dict[int, str]:
    """Live (not zombie) processes whose parent is `pid`, with their command lines."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        state, ppid = stat.rsplit(")", 1)[1].split()[:2]
        if int(ppid) == pid and state != "Z":
            found[int(entry.name)] = cmdline
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.slow
def test_serve_several_processes(
    database_url: str, tmp_path: Path, acme: Api, sessions: sessionmaker[Session]
) -> None:
    s = Setup(acme)
    path = leads_path(acme, s.cid)
    port = free_port()
    # The rate limit (5 per publisher here) is one for every process.
    env = server_env(database_url, port, LEADGATE_RATE_LIMIT_REQUESTS="5")
    srv = Server(port, env, tmp_path / "serve.log")
    with srv.log.open("ab") as out:
        srv.proc = subprocess.Popen(
            [*SERVE, "--port", str(port), "--processes", "2", "--no-worker"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    proc = srv.proc
    workers: set[int] = set()
    try:

        def up() -> bool:
            assert proc.poll() is None, srv.log.read_text()[-3000:]
            try:
                return httpx.get(srv.url + "/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(up, timeout=60)

        def api_processes() -> list[int]:
            return [p for p, cmd in _children(proc.pid).items() if "spawn_main" in cmd]

        wait_for(lambda: len(api_processes()) >= 2)
        assert len(api_processes()) == 2, _children(proc.pid)
        workers |= set(_children(proc.pid))

        def serving() -> set[int]:  # API processes whose intake has a connection open
            with sessions() as session:
                names = session.execute(
                    text(
                        "SELECT application_name FROM pg_stat_activity "
                        "WHERE datname = current_database() "
                        "AND application_name LIKE 'leadgate-intake-%'"
                    )
                ).scalars()
                return {int(name.rpartition("-")[2]) for name in names}

        codes: list[int] = []
        n = 0
        while not set(api_processes()) <= serving() and n < 400:  # new connections land on either
            posts = [Post(path, s.key, VALID | {"firstName": f"p{n + i}"}) for i in range(8)]
            n += len(posts)
            for answer in send(posts, to=srv):
                assert answer.status_code in (201, 429), answer.text
                codes.append(answer.status_code)
        assert set(api_processes()) <= serving(), "one process took every connection"
        # The limit (5 per publisher) is counted in the database: one limit for both processes.
        assert codes.count(201) == 5 and codes.count(429) == n - 5, codes
        leads = stored(sessions, s.cid)
        assert len(leads) == 5
        for row in leads.values():
            assert_judged_once(row, s.pub["id"])

        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=15)
        assert time.monotonic() - started < 10
        assert rc in (0, -signal.SIGTERM, 128 + signal.SIGTERM), srv.log.read_text()[-3000:]
        wait_for(lambda: not any(_alive(pid) for pid in workers), timeout=10)
    finally:
        workers |= set(_children(proc.pid))
        srv.stop(kill=True)
        for pid in workers:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
