"""The rollup stays equal to the leads themselves, whatever writes them, and never makes two
intake transactions wait for each other."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from leadgate.db import transaction
from leadgate.kit.ratelimit import RateLimiter
from leadgate.kit.repository import TenantScope
from leadgate.leads import lifecycle
from leadgate.leads import service as leads
from leadgate.leads.intake import Accepted, Hits, LeadIntake, Submission, intake_fast
from leadgate.leads.models import Lead
from leadgate.stats import repository, service
from leadgate.stats.models import LEADS, NO_FLAG
from leadgate.stats.tasks import compact_counts
from leadgate.worker.enqueue import enqueue
from leadgate.worker.runner import run_worker
from tests.factories import Api

FIELDS = [{"name": "company"}, {"name": "email"}, {"name": "note"}]
COMPANIES = ["Acme", "Globex", "Umbrella", "Initech", ""]
EMAILS = ["ann@example.org", "not-an-address", "bo@example.net", ""]

Key = tuple[int, Any, int, str, str]  # campaign, day, publisher (0: admin), status, code


def expected_keys(sessions: sessionmaker[Session], instance_id: int) -> Counter[Key]:
    """What the rollup must hold, computed from the leads themselves (in Python)."""
    with transaction(sessions) as session:
        rows = session.scalars(select(Lead).where(Lead.instance_id == instance_id)).all()
        out: Counter[Key] = Counter()
        for lead in rows:
            day = lead.created_at.astimezone(UTC).date()
            base = (lead.campaign_id, day, lead.publisher_id or 0, lead.status)
            out[(*base, LEADS)] += 1
            for code in {f["code"] for f in lead.flags}:
                out[(*base, code)] += 1
            if not lead.flags and lead.status in ("invalid", "caution"):
                out[(*base, NO_FLAG)] += 1
    return out


def rollup_keys(sessions: sessionmaker[Session], instance_id: int) -> Counter[Key]:
    """What the rollup holds (compacted counts plus deltas), every campaign, every day."""
    with transaction(sessions) as session:
        found = session.execute(
            text(
                "SELECT campaign_id, day, publisher_id, status, code, sum(n) FROM ("
                " SELECT campaign_id, day, publisher_id, status, code, n FROM lead_counts"
                " WHERE instance_id = :i UNION ALL"
                " SELECT campaign_id, day, publisher_id, status, code, n FROM lead_count_deltas"
                " WHERE instance_id = :i) x GROUP BY 1, 2, 3, 4, 5 HAVING sum(n) <> 0"
            ),
            {"i": instance_id},
        ).all()
    return Counter({(c, d, p, s, k): int(n) for c, d, p, s, k, n in found})


def stats_from_leads(keys: Counter[Key], campaign_id: int | None = None) -> dict[str, Any]:
    """The parts of `GET /stats` computed from the expected keys."""
    by_status: Counter[str] = Counter()
    by_day: dict[str, Counter[str]] = {}
    by_publisher: Counter[int | None] = Counter()
    reasons: Counter[str] = Counter()
    for (cid, day, pid, status, code), n in keys.items():
        if campaign_id is not None and cid != campaign_id:
            continue
        if code == LEADS:
            by_status[status] += n
            by_day.setdefault(day.isoformat(), Counter())[status] += n
            by_publisher[pid or None] += n
        elif status == "invalid":
            reasons[code] += n
    return {
        "by_status": dict(by_status),
        "by_day": {d: dict(c) for d, c in by_day.items()},
        "by_publisher": dict(by_publisher),
        "reasons": dict(reasons),
    }


def stats_from_api(api: Api, campaign_id: int | None = None) -> dict[str, Any]:
    """The same parts, as `GET /stats` answers them for the last 30 days."""
    params: dict[str, Any] = {"from": (datetime.now(UTC) - timedelta(days=29)).date().isoformat()}
    if campaign_id is not None:
        params["campaign_id"] = campaign_id
    got = api.ok("GET", "/stats", params=params)
    assert got["total"] == sum(got["by_status"].values())
    return {
        "by_status": {s: n for s, n in got["by_status"].items() if n},
        "by_day": {
            d["day"]: {s: n for s, n in d["by_status"].items() if n}
            for d in got["by_day"]
            if d["total"]
        },
        "by_publisher": {p["publisher_id"]: p["total"] for p in got["by_publisher"]},
        "reasons": {r["code"]: r["count"] for r in got["top_rejection_reasons"]},
    }


class Scene:
    """A campaign with three checks (valid / caution / invalid reachable), two publishers, a
    holding campaign (pending leads), and every way leads get written."""

    def __init__(self, api: Api, sessions: sessionmaker[Session], database_url: str) -> None:
        self.api, self.sessions, self.database_url = api, sessions, database_url
        self.cid = api.campaign("Solar", FIELDS)["id"]
        self.held = api.holding_campaign("Held", FIELDS)["id"]
        self.list_id = api.ok(
            "POST", "/lists", 201, json={"name": "Targets", "values": ["Acme", "Globex"]}
        )["id"]
        for score, job in (
            (10, {"type": "required_fields", "config": {"fields": ["note"]}}),
            (
                40,
                {
                    "type": "validation_list",
                    "config": {
                        "list_id": self.list_id,
                        "field_name": "company",
                        "operator": "equal",
                        "rule": "pass",
                    },
                },
            ),
            (50, {"type": "email_format", "config": {"field_name": "email"}}),
        ):
            api.ok("POST", f"/campaigns/{self.cid}/jobs", 201, json={**job, "score": score})
        self.keys: list[str] = []
        for name in ("North", "South"):
            pub, key = api.publisher(name)
            for cid in (self.cid, self.held):
                api.ok("PUT", f"/campaigns/{cid}/publishers/{pub['id']}", 204)
            self.keys.append(key["key"])
        self.intake = LeadIntake(sessions, RateLimiter(100_000, 60), database_url)

    def body(self, rnd: random.Random) -> dict[str, Any]:
        body = {"company": rnd.choice(COMPANIES), "email": rnd.choice(EMAILS)}
        return body | ({"note": "called"} if rnd.random() < 0.7 else {})

    def subs(self, rnd: random.Random, n: int) -> list[Submission]:
        return [
            Submission(
                self.api.subdomain,
                rnd.choice(self.keys),
                rnd.choice((self.cid, self.cid, self.held)),
                self.body(rnd),
            )
            for _ in range(n)
        ]

    def general(self, rnd: random.Random) -> None:
        for outcome in self.intake.run(self.subs(rnd, rnd.randint(1, 12))):
            assert isinstance(outcome, Accepted), outcome

    def fast(self, rnd: random.Random) -> None:
        async def go() -> list[Any]:
            async with await psycopg.AsyncConnection.connect(
                self.database_url, autocommit=True, prepare_threshold=0
            ) as conn:
                return await intake_fast(conn, self.subs(rnd, rnd.randint(1, 12)), Hits(limiter))

        limiter = RateLimiter(100_000, 60)
        for outcome in asyncio.run(go()):
            assert isinstance(outcome, Accepted), outcome

    def admin(self, rnd: random.Random) -> None:
        self.api.ok("POST", f"/campaigns/{self.cid}/leads", 201, json={"data": self.body(rnd)})

    def lead_ids(self) -> list[int]:
        with transaction(self.sessions) as session:
            return list(
                session.scalars(select(Lead.id).where(Lead.instance_id == self.api.instance_id))
            )

    def person(self, rnd: random.Random) -> None:
        lead_id = rnd.choice(self.lead_ids())
        verb = rnd.choice(("validate", "invalidate"))
        self.api.ok("POST", f"/leads/{lead_id}/{verb}", json={"reason": "checked", "user": "kim"})

    def test_status(self, rnd: random.Random) -> None:
        with transaction(self.sessions) as session:
            scope = TenantScope(session, self.api.instance_id)
            lead = leads.get(scope, rnd.choice(self.lead_ids()))
            leads.set_status(scope, lead, "test", "a test lead", "kim")

    def reprocess(self, rnd: random.Random) -> None:
        # The list moves first, so reprocessing really changes verdicts.
        value = rnd.choice(COMPANIES[:4])
        change = {rnd.choice(("add", "remove")): [value]}
        self.api.ok("PATCH", f"/lists/{self.list_id}/values", json=change)
        for lead_id in rnd.sample(self.lead_ids(), k=3):
            self.api.ok("POST", f"/leads/{lead_id}/reprocess")

    def rejudge_all(self) -> None:
        with transaction(self.sessions) as session:
            scope = TenantScope(session, self.api.instance_id)
            for lead in session.scalars(
                select(Lead).where(Lead.campaign_id == self.cid).limit(5)
            ).all():
                lifecycle.rejudge(scope, lead, reason="test", max_staleness_s=None)

    def delete(self, rnd: random.Random) -> None:
        """A lead removed (no page does it; a cascade from its campaign or instance would)."""
        with transaction(self.sessions) as session:
            session.delete(session.get_one(Lead, rnd.choice(self.lead_ids())))

    def backdate(self, rnd: random.Random) -> None:
        """Some leads came on earlier days (what a seed of old leads writes)."""
        with transaction(self.sessions) as session:
            session.execute(
                text(
                    "UPDATE leads SET created_at = created_at - make_interval(days => :d) "
                    "WHERE id = ANY(:ids)"
                ),
                {"d": rnd.randint(1, 20), "ids": rnd.sample(self.lead_ids(), k=4)},
            )


def test_counts_equal_the_leads_after_random_writes(
    acme: Api, sessions: sessionmaker[Session], database_url: str
) -> None:
    scene = Scene(acme, sessions, database_url)
    rnd = random.Random(14)
    while len(scene.lead_ids()) < 8:
        scene.general(rnd)
    actions = [
        scene.general,
        scene.fast,
        scene.admin,
        scene.person,
        scene.test_status,
        scene.reprocess,
        scene.backdate,
        scene.delete,
    ]
    ran: Counter[str] = Counter()
    for step in range(40):
        action = rnd.choice(actions)
        action(rnd)
        ran[action.__name__] += 1
        if step % 10 == 9:
            assert rollup_keys(sessions, acme.instance_id) == expected_keys(
                sessions, acme.instance_id
            )
    scene.rejudge_all()
    assert set(ran) == {a.__name__ for a in actions}, ran  # every way of writing ran

    expected = expected_keys(sessions, acme.instance_id)
    statuses = {k[3] for k in expected}
    assert {"valid", "caution", "invalid", "pending", "test"} <= statuses, statuses
    assert len({k[1] for k in expected}) > 1  # several days
    assert rollup_keys(sessions, acme.instance_id) == expected
    for campaign_id in (None, scene.cid, scene.held):
        assert stats_from_api(acme, campaign_id) == stats_from_leads(expected, campaign_id)

    with transaction(sessions) as session:
        assert service.compact(session) > 0
    with transaction(sessions) as session:
        left = session.execute(
            text("SELECT count(*) FROM lead_count_deltas WHERE instance_id = :i"),
            {"i": acme.instance_id},
        ).scalar_one()
        zeros = session.execute(text("SELECT count(*) FROM lead_counts WHERE n = 0")).scalar_one()
    assert left == 0 and zeros == 0
    assert rollup_keys(sessions, acme.instance_id) == expected
    assert stats_from_api(acme) == stats_from_leads(expected)

    # Writes after a compaction land as deltas again and still add up.
    scene.person(rnd)
    scene.general(rnd)
    assert rollup_keys(sessions, acme.instance_id) == expected_keys(sessions, acme.instance_id)


def test_the_reasons_say_what_the_flag_codes_mean(
    acme: Api, sessions: sessionmaker[Session], database_url: str
) -> None:
    scene = Scene(acme, sessions, database_url)
    for email in ("x", "ann@example.org"):
        body = {"company": "Umbrella", "email": email, "note": "called"}
        acme.ok("POST", f"/campaigns/{scene.cid}/leads", 201, json={"data": body})
    body = {"company": "Acme", "email": "bo@example.org", "note": "called"}
    valid = acme.ok("POST", f"/campaigns/{scene.cid}/leads", 201, json={"data": body})
    assert valid["status"] == "valid"
    acme.ok("POST", f"/leads/{valid['id']}/invalidate", json={"reason": "no", "user": "kim"})
    got = acme.ok("GET", "/stats", params={"campaign_id": scene.cid})
    reasons = {r["code"]: r for r in got["top_rejection_reasons"]}
    assert reasons["validation_list.no_match"] == {
        "code": "validation_list.no_match",
        "text": "A value is not on the acceptance list",
        "count": 2,
        "share": round(2 / 3, 4),
    }
    assert reasons["email_format.invalid"]["text"] == "The email address is not valid"
    assert reasons[NO_FLAG]["count"] == 1
    assert reasons[NO_FLAG]["text"] == service.NO_FLAG_TEXT
    assert len(reasons) == 3
    assert got["by_status"]["invalid"] == 3
    assert got["by_publisher"] == [
        {
            "publisher_id": None,
            "name": "Entered by an admin",
            "total": 3,
            "by_status": {"pending": 0, "valid": 0, "caution": 0, "invalid": 3, "test": 0},
            "acceptance_rate": 0.0,
        }
    ]


def test_concurrent_intake_transactions_do_not_wait_for_each_other(
    acme: Api, sessions: sessionmaker[Session], database_url: str
) -> None:
    scene = Scene(acme, sessions, database_url)
    first = sessions()
    try:
        scope = TenantScope(first, acme.instance_id)
        lifecycle.submit(scope, scene.cid, {"company": "Acme"}, max_staleness_s=None)
        # The first transaction is still open, holding whatever it wrote; a second one into
        # the same campaign, publisher, day and status commits at once (it would hit the lock
        # timeout if the rollup made it wait for a row the first one updated).
        with transaction(sessions) as second:
            second.execute(text("SET LOCAL lock_timeout = '2s'"))
            lifecycle.submit(
                TenantScope(second, acme.instance_id),
                scene.cid,
                {"company": "Globex"},
                max_staleness_s=None,
            )
        first.commit()
    finally:
        first.close()
    assert rollup_keys(sessions, acme.instance_id) == expected_keys(sessions, acme.instance_id)


def test_the_worker_folds_the_deltas(
    acme: Api, sessions: sessionmaker[Session], database_url: str
) -> None:
    scene = Scene(acme, sessions, database_url)
    scene.general(random.Random(5))
    before = rollup_keys(sessions, acme.instance_id)

    def deltas() -> int:
        with transaction(sessions) as session:
            found = session.execute(
                text("SELECT count(*) FROM lead_count_deltas WHERE instance_id = :i"),
                {"i": acme.instance_id},
            )
            return int(found.scalar_one())

    assert deltas() > 0
    with transaction(sessions) as session:
        enqueue(session, compact_counts, timestamp=0)
    asyncio.run(run_worker(database_url, concurrency=1, wait=False))
    assert deltas() == 0
    assert rollup_keys(sessions, acme.instance_id) == before


def test_the_backfill_rebuilds_the_same_counts(
    acme: Api, sessions: sessionmaker[Session], database_url: str
) -> None:
    scene = Scene(acme, sessions, database_url)
    scene.general(random.Random(3))
    before = rollup_keys(sessions, acme.instance_id)
    with transaction(sessions) as session:
        session.execute(text("SELECT lead_counts_backfill()"))
    assert (
        rollup_keys(sessions, acme.instance_id)
        == before
        == expected_keys(sessions, acme.instance_id)
    )


def test_periods_and_bad_input(acme: Api) -> None:
    cid = acme.campaign("Empty", FIELDS)["id"]
    got = acme.ok("GET", "/stats", params={"campaign_id": cid})
    assert got["total"] == 0 and len(got["by_day"]) == 7 and got["acceptance_rate"] is None
    assert got["top_rejection_reasons"] == [] and got["connect"] is None
    one = acme.ok("GET", "/stats", params={"from": "2026-01-05", "to": "2026-01-05"})
    assert (one["from"], one["to"], len(one["by_day"])) == ("2026-01-05", "2026-01-05", 1)
    for params, code, status in (
        ({"from": "2026-13-01"}, "invalid_request", 422),
        ({"from": "2026-02-01", "to": "2026-01-01"}, "invalid_request", 422),
        ({"from": "2020-01-01", "to": "2026-01-01"}, "invalid_request", 422),
        ({"to": "0001-01-01"}, "invalid_request", 422),
        ({"from": "9999-12-31", "to": "9999-12-31"}, "invalid_request", 422),
        ({"campaign_id": "x"}, "invalid_request", 422),
        ({"campaign_id": 2**63}, "invalid_request", 422),
        ({"campaign_id": 999_999_999}, "campaign_not_found", 404),
    ):
        r = acme.call("GET", "/stats", params=params)
        assert r.status_code == status, (params, r.text)
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["code"] == code


def test_summarise_counts_every_day_and_ranks_reasons() -> None:
    period = service.Period(datetime(2026, 1, 1).date(), datetime(2026, 1, 3).date())
    day = period.start
    counts = repository.Counts(
        by_day={(day, "valid"): 3, (day, "invalid"): 2},
        by_publisher={(1, "valid"): 3, (1, "invalid"): 1, (0, "invalid"): 1},
        by_code={"c.d": 1, "a.b": 2, "e.f": 1},
    )
    s = service.summarise(counts, period, {1: "North"}, text_of=str.upper, top=2)
    assert [d.total for d in s.by_day] == [5, 0, 0]
    assert (s.by_status.valid, s.by_status.invalid, s.total) == (3, 2, 5)
    assert [(p.name, p.total, p.acceptance_rate) for p in s.by_publisher] == [
        ("North", 4, 0.75),
        ("Entered by an admin", 1, 0.0),
    ]
    assert [(r.code, r.text, r.count, r.share) for r in s.reasons] == [
        ("a.b", "A.B", 2, 1.0),
        ("c.d", "C.D", 1, 0.5),
    ]
