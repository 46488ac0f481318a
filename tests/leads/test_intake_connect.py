"""A Connect campaign (a mirrored client check and a delivery job) takes the intake's fast driver
like a plain campaign: the same verdicts and the same deliveries as the general driver, the
deliveries committed with their leads, and a change of the client's rule followed by the very
next lead once the mirror has synced.

The client is another instance of the same app, reached in process (the `peers` fixture).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import psycopg
import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from leadgate.delivery.models import Delivery
from leadgate.kit.ratelimit import RateLimiter
from leadgate.leads.intake import (
    Accepted,
    Hits,
    LeadIntake,
    Submission,
    _Declined,
    intake_fast,
)
from leadgate.leads.models import LeadHistory
from tests.factories import CONNECT_BODIES, Api, Connected


async def _fast(database_url: str, subs: list[Submission], limiter: RateLimiter) -> list[Any]:
    async with await psycopg.AsyncConnection.connect(
        database_url, autocommit=True, prepare_threshold=0
    ) as conn:
        return await intake_fast(conn, subs, Hits(limiter))  # raises _Declined if it cannot


def _answers(outcomes: list[Any]) -> list[tuple[str, int, int, list[str]]]:
    out = []
    for o in outcomes:
        assert isinstance(o, Accepted) and o.created, o
        out.append((o.lead.status, o.lead.score, o.lead.max_score, [f.code for f in o.lead.flags]))
    return out


def _deliveries(sessions: sessionmaker[Session], outcomes: list[Any]) -> dict[int, list[Any]]:
    """Per stored lead: its deliveries (job, state, key) and its delivery_queued history."""
    ids = [o.lead.id for o in outcomes]
    with sessions() as s:
        rows = s.scalars(select(Delivery).where(Delivery.lead_id.in_(ids))).all()
        history = s.scalars(
            select(LeadHistory).where(
                LeadHistory.lead_id.in_(ids), LeadHistory.event == "delivery_queued"
            )
        ).all()
    out: dict[int, list[Any]] = {i: [] for i in ids}
    for d in rows:
        out[d.lead_id].append((d.job_id, d.state, d.idempotency_key))
    for h in history:
        assert h.detail["deliveries"] == [d.id for d in rows if d.lead_id == h.lead_id]
        out[h.lead_id].append("delivery_queued")
    return out


def _drains_waiting(sessions: sessionmaker[Session], job_id: int) -> int:
    with sessions() as s:
        return int(
            s.execute(
                text(
                    "SELECT count(*) FROM procrastinate_jobs WHERE queueing_lock = :lock "
                    "AND status = 'todo'"
                ),
                {"lock": f"drain-{job_id}"},
            ).scalar_one()
        )


@pytest.mark.usefixtures("peers")
def test_a_connect_campaign_takes_the_fast_driver(
    acme: Api, other: Api, sessions: sessionmaker[Session], database_url: str
) -> None:
    w = Connected(acme, other)
    limiter = RateLimiter(1000, 60)
    intake = LeadIntake(sessions, limiter, database_url)

    general = intake.run(w.subs(CONNECT_BODIES))  # cold caches: the general driver fills them
    fast = asyncio.run(_fast(database_url, w.subs(CONNECT_BODIES), limiter))

    expected = _answers(general)
    assert [a[0] for a in expected] == ["valid", "valid", "invalid", "invalid"], expected
    assert "connect.criteria_not_met" in expected[2][3]
    assert _answers(fast) == expected
    job = w.delivery["id"]
    for outcomes in (general, fast):
        per_lead = _deliveries(sessions, outcomes)
        for outcome, (status, *_) in zip(outcomes, expected, strict=True):
            lead_id = outcome.lead.id
            key = f"leadgate-{acme.subdomain}-l{lead_id}-j{job}"
            wanted = [(job, "queued", key), "delivery_queued"] if status == "valid" else []
            assert per_lead[lead_id] == wanted, (status, per_lead[lead_id])
    assert _drains_waiting(sessions, job) == 1  # one drain covers every queued delivery

    # The client adds a value. Until the mirror syncs, both drivers judge by the mirror they
    # have; once it has synced, the very next lead follows (the fast driver included).
    other.ok("PATCH", f"/lists/{w.list['id']}/values", json={"add": ["umbrella"]})
    umbrella = [CONNECT_BODIES[2]]
    assert _answers(asyncio.run(_fast(database_url, w.subs(umbrella), limiter)))[0][0] == "invalid"
    w.sync()
    assert _answers(intake.run(w.subs(umbrella)))[0][0] == "valid"  # the stamp moved: reloads
    assert _answers(asyncio.run(_fast(database_url, w.subs(umbrella), limiter)))[0][0] == "valid"


@pytest.mark.usefixtures("peers")
def test_a_commit_wakes_the_workers_even_when_a_drain_waits_already(
    acme: Api, other: Api, sessions: sessionmaker[Session], database_url: str
) -> None:
    """The drains of a connection share a lock (one sends at a time, the next takes what was
    committed meanwhile); the one waiting behind it starts only when a worker looks again, so
    every commit of deliveries wakes the workers, also when its drain was already queued."""
    w = Connected(acme, other)
    intake = LeadIntake(sessions, RateLimiter(1000, 60), database_url)
    job = w.delivery["id"]
    valid = CONNECT_BODIES[:1]
    intake.run(w.subs(valid))
    with sessions() as s:
        locks = s.execute(
            text(
                "SELECT queueing_lock, lock FROM procrastinate_jobs "
                "WHERE task_name = 'leadgate.connect.drain' AND status = 'todo' "
                "AND args->>'connection_id' = :job"
            ),
            {"job": str(job)},
        ).all()
    assert [tuple(r) for r in locks] == [(f"drain-{job}", f"drain-{job}")]
    with psycopg.connect(database_url, autocommit=True) as listener:
        listener.execute('LISTEN "procrastinate_any_queue_v1"')
        intake.run(w.subs(valid))  # its drain waits already: no second job ...
        woken = list(listener.notifies(timeout=5, stop_after=1))
    assert _drains_waiting(sessions, job) == 1
    assert [json.loads(n.payload)["type"] for n in woken] == ["job_inserted"]  # ... a wake-up


@pytest.mark.usefixtures("peers")
def test_a_refused_delivery_write_stores_no_lead(
    acme: Api, other: Api, sessions: sessionmaker[Session], database_url: str
) -> None:
    """The leads and their deliveries are one transaction in the fast driver: when the delivery
    statement fails, the leads are not stored, and the general driver answers them instead."""
    w = Connected(acme, other)
    limiter = RateLimiter(1000, 60)
    intake = LeadIntake(sessions, limiter, database_url)
    intake.run(w.subs(CONNECT_BODIES[:1]))  # warm
    with sessions.begin() as s:  # a delivery row that makes the next insert fail
        s.execute(
            text(
                "CREATE OR REPLACE FUNCTION lg_test_refuse() RETURNS trigger LANGUAGE plpgsql "
                "AS $$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$"
            )
        )
        s.execute(
            text(
                "CREATE TRIGGER lg_test_refuse BEFORE INSERT ON deliveries FOR EACH ROW "
                f"WHEN (NEW.job_id = {int(w.delivery['id'])}) EXECUTE FUNCTION lg_test_refuse()"
            )
        )
    try:
        with pytest.raises(_Declined):
            asyncio.run(_fast(database_url, w.subs(CONNECT_BODIES[:1]), limiter))
        with sessions() as s:
            count = s.execute(
                text("SELECT count(*) FROM leads WHERE campaign_id = :c"), {"c": w.cid}
            ).scalar_one()
        assert count == 1  # only the warm-up lead: the refused batch left nothing behind
    finally:
        with sessions.begin() as s:
            s.execute(text("DROP TRIGGER lg_test_refuse ON deliveries"))
            s.execute(text("DROP FUNCTION lg_test_refuse()"))
