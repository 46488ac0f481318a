"""Duplicate checks on the database: exactly one of two leads with one value is first, in one
batch, in two batches at once and in two `leadgate serve` processes; windows, scopes, states,
reprocessing, deleted and returned leads; both intake drivers and the admin route alike."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import secrets
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session, sessionmaker

from leadgate.errors import LeadgateError
from leadgate.jobs.duplicate_check import DuplicateCheckConfig, DuplicateCheckJob
from leadgate.kit.ratelimit import RateLimiter
from leadgate.leads.intake import Accepted, Hits, LeadIntake, Outcome, Submission, intake_fast
from leadgate.leads.keys import lock_id
from leadgate.leads.models import Lead, LeadHistory, LeadKey
from leadgate.processr.plugin import Origin
from tests.factories import Api
from tests.servers import Server, free_port, server_env, wait_for

FIELDS = [
    {"name": "email"},
    {"name": "firstName"},
    {"name": "company"},
    {"name": "country"},
    {"name": "phone"},
]
FOUND = "duplicate.found"


def unique(name: str = "kim") -> str:
    return f"{name}.{secrets.token_hex(4)}@acme.example"


class Dup:
    """A campaign with a duplicate check (and maybe more jobs), granted to a publisher."""

    def __init__(
        self,
        api: Api,
        config: dict[str, Any] | None = None,
        jobs: list[dict[str, Any]] | None = None,
        name: str = "Dups",
        publisher: tuple[dict[str, Any], dict[str, Any]] | None = None,
    ) -> None:
        self.api = api
        self.cid: int = api.campaign(name, FIELDS)["id"]
        self.pub, key = publisher or api.publisher(f"{name} publisher")
        self.key: str = key["key"]
        self.grant(self.pub["id"])
        self.config = config or {}
        self.job = self.add({"type": "duplicate_check", "config": self.config})
        for job in jobs or []:
            self.add(job)

    def add(self, job: dict[str, Any]) -> dict[str, Any]:
        added: dict[str, Any] = self.api.ok("POST", f"/campaigns/{self.cid}/jobs", 201, json=job)
        return added

    def grant(self, publisher_id: int) -> None:
        self.api.ok("PUT", f"/campaigns/{self.cid}/publishers/{publisher_id}", 204)

    def post(self, data: dict[str, Any], key: str | None = None) -> dict[str, Any]:
        """A lead through the Publisher API (the intake)."""
        r = self.api.call(
            "POST",
            f"/publisher/campaigns/{self.cid}/leads",
            secret=key or self.key,
            json={"data": data},
        )
        assert r.status_code == 201, r.text
        lead: dict[str, Any] = r.json()
        return lead

    def admin_post(self, data: dict[str, Any]) -> dict[str, Any]:
        """A lead through the admin API (`lifecycle.submit`)."""
        lead: dict[str, Any] = self.api.ok(
            "POST", f"/campaigns/{self.cid}/leads", 201, json={"data": data}
        )
        return lead

    def subs(self, bodies: list[dict[str, Any]]) -> list[Submission]:
        return [Submission(self.api.subdomain, self.key, self.cid, b) for b in bodies]

    def lock_of(self, email: str) -> int:
        """The advisory lock of this email's key (a lead of the publisher)."""
        config = DuplicateCheckConfig.model_validate(self.config)
        (claim,) = DuplicateCheckJob().claimed_keys(
            {"email": email}, config, Origin(self.cid, self.pub["id"])
        )
        return lock_id(self.api.instance_id, claim)


def codes(lead: dict[str, Any]) -> list[str]:
    return [f["code"] for f in lead["flags"]]


def duplicate_of(lead: dict[str, Any]) -> int | None:
    """The earlier lead a duplicate flag names."""
    for flag in lead["flags"]:
        if flag["code"] == FOUND:
            found = re.search(r"as lead (\d+),", flag["message"])
            assert found, flag
            return int(found.group(1))
    return None


def answers(outcomes: list[Outcome]) -> list[dict[str, Any]]:
    out = []
    for outcome in outcomes:
        assert isinstance(outcome, Accepted) and outcome.created, outcome
        out.append(outcome.lead.model_dump(mode="json"))
    return out


async def _fast(database_url: str, subs: list[Submission]) -> list[Outcome]:
    async with await psycopg.AsyncConnection.connect(
        database_url, autocommit=True, prepare_threshold=0
    ) as conn:
        return await intake_fast(conn, subs, Hits(RateLimiter(10_000, 60)))


Driver = Callable[[list[Submission]], list[Outcome]]


@pytest.fixture
def drivers(sessions: sessionmaker[Session], database_url: str) -> dict[str, Driver]:
    """The general driver (`LeadIntake.run`) and the fast one (`intake_fast`, which raises
    instead of handing a batch over, so a test sees it judged every lead itself)."""
    intake = LeadIntake(sessions, RateLimiter(10_000, 60), database_url)
    return {
        "general": intake.run,
        "fast": lambda subs: asyncio.run(_fast(database_url, subs)),
    }


def key_rows(sessions: sessionmaker[Session], lead_id: int) -> list[LeadKey]:
    with sessions() as session:
        return list(session.scalars(select(LeadKey).where(LeadKey.lead_id == lead_id)))


def history(sessions: sessionmaker[Session], lead_id: int) -> list[tuple[str, dict[str, Any]]]:
    with sessions() as session:
        rows = session.execute(
            select(LeadHistory.event, LeadHistory.detail)
            .where(LeadHistory.lead_id == lead_id)
            .order_by(LeadHistory.id)
        ).all()
    return [(event, detail) for event, detail in rows]


def age_keys(sessions: sessionmaker[Session], lead_id: int, days: float) -> None:
    """Pretend the lead came `days` ago (its keys carry when it came)."""
    with sessions() as session:
        session.execute(
            text("UPDATE lead_keys SET at = now() - make_interval(secs => :s) WHERE lead_id = :id"),
            {"s": days * 86400, "id": lead_id},
        )
        session.commit()


def advisory_waiters(sessions: sessionmaker[Session]) -> int:
    """Backends of this database waiting for an advisory lock."""
    with sessions() as session:
        return int(
            session.scalar(
                text(
                    "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
                    "WHERE d.datname = current_database() AND l.locktype = 'advisory' "
                    "AND NOT l.granted"
                )
            )
            or 0
        )


# --- 1. exactly one is first -----------------------------------------------------------------


def test_the_same_value_twice_in_one_batch(
    acme: Api, drivers: dict[str, Driver], sessions: sessionmaker[Session]
) -> None:
    d = Dup(acme)
    d.post({"email": unique()})  # fills this process's caches, so the fast driver can answer
    for name in ("general", "fast"):
        email = unique()
        bodies = [
            {"email": email},
            {"email": unique("other")},
            {"email": f"  {email.upper()} "},
            {"email": email.replace("@", "+promo@")},
        ]
        leads = answers(drivers[name](d.subs(bodies)))
        assert [lead["status"] for lead in leads] == ["valid", "valid", "invalid", "invalid"], name
        assert [duplicate_of(lead) for lead in leads] == [
            None,
            None,
            leads[0]["id"],
            leads[2]["id"],
        ]
        assert "received" in leads[2]["flags"][0]["message"]
        # Each lead holds its key; the duplicates' keys name the same hash.
        hashes = [r.hash for lead in leads for r in key_rows(sessions, lead["id"])]
        assert len(hashes) == 4 and hashes[0] == hashes[2] == hashes[3] != hashes[1]
        assert hashes[0] == hashlib.sha256(email.encode()).digest()


def test_values_that_quoting_must_keep_are_stored_as_sent(
    acme: Api, drivers: dict[str, Driver], sessions: sessionmaker[Session]
) -> None:
    """The fast driver sends a claiming batch's rows as quoted literals (a message of several
    statements): quotes, backslashes, percent signs, JSON-looking text and other scripts come
    back exactly as sent, and a duplicate is still found by its value."""
    d = Dup(acme)
    d.post({"email": unique()})  # fills this process's caches, so the fast driver can answer
    tricky = {
        "firstName": "O'Brien \\' \"%(q)s\" %s $1 ;COMMIT;",
        "company": '{"a": [1, "\\u0000x"]} \\n\\\\ Łódź 東京 🚀',
        "country": "E'\\x41' -- ",
    }
    for name in ("general", "fast"):
        email = unique("o'brien%")
        first, again = answers(drivers[name](d.subs([{"email": email, **tricky}] * 2)))
        assert (first["status"], again["status"]) == ("valid", "invalid"), name
        assert duplicate_of(again) == first["id"]
        with sessions() as session:
            stored = session.get(Lead, first["id"])
            assert stored is not None and stored.data == {"email": email, **tricky}, name


def test_two_batches_at_once_one_of_them_first(
    acme: Api, drivers: dict[str, Driver], sessions: sessionmaker[Session]
) -> None:
    """Both batches reach the lock of the key together (a third session holds it until both
    wait), then one judges and writes first: the other sees its lead."""
    d = Dup(acme)
    d.post({"email": unique()})
    for pair in (("general", "fast"), ("fast", "fast"), ("general", "general")):
        email = unique()
        with sessions() as holder, ThreadPoolExecutor(2) as pool:
            holder.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": d.lock_of(email)})
            futures = [
                pool.submit(drivers[name], d.subs([{"email": email}, {"email": unique()}]))
                for name in pair
            ]
            wait_for(lambda: advisory_waiters(sessions) >= 2, what="both batches at the lock")
            holder.rollback()
            batches = [answers(f.result(timeout=30)) for f in futures]
        firsts = sorted(batch[0]["status"] for batch in batches)
        assert firsts == ["invalid", "valid"], (pair, batches)
        assert all(batch[1]["status"] == "valid" for batch in batches)
        winner = next(b[0] for b in batches if b[0]["status"] == "valid")
        loser = next(b[0] for b in batches if b[0]["status"] == "invalid")
        assert duplicate_of(loser) == winner["id"] and loser["id"] > winner["id"]


def test_many_batches_in_two_threads_keep_one_first_per_value(
    acme: Api, drivers: dict[str, Driver]
) -> None:
    d = Dup(acme)
    d.post({"email": unique()})
    emails = [unique(f"p{i}") for i in range(12)]

    def rounds(name: str, seed: int) -> list[tuple[str, dict[str, Any]]]:
        out = []
        for n in range(6):
            batch = [emails[(seed + n * 5 + k * 7) % len(emails)] for k in range(5)]
            leads = answers(drivers[name](d.subs([{"email": e} for e in batch])))
            out += list(zip(batch, leads, strict=True))
        return out

    with ThreadPoolExecutor(2) as pool:
        runs = [pool.submit(rounds, "fast", 0), pool.submit(rounds, "general", 3)]
        sent = [pair for run in runs for pair in run.result(timeout=120)]
    for email in emails:
        statuses = [lead["status"] for e, lead in sent if e == email]
        assert statuses.count("valid") == 1, (email, statuses)


@pytest.mark.slow
def test_two_api_processes_keep_one_first_per_value(
    database_url: str, tmp_path: Path, acme: Api, sessions: sessionmaker[Session]
) -> None:
    """Each email is sent to both `leadgate serve` processes at once, while a third session
    holds the emails' locks until both processes wait for them."""
    d = Dup(acme)
    servers = []
    try:
        for n in range(2):
            port = free_port()
            env = server_env(database_url, port)
            servers.append(Server(port, env, tmp_path / f"serve{n}.log").start())
        path = f"{acme.base}/publisher/campaigns/{d.cid}/leads"
        headers = {"Authorization": f"Bearer {d.key}"}
        for srv in servers:  # warm each process's caches
            r = httpx.post(srv.url + path, json={"data": {"email": unique()}}, headers=headers)
            assert r.status_code == 201, r.text
        emails = [unique(f"s{i}") for i in range(10)]

        async def send_all() -> list[tuple[str, httpx.Response]]:
            async with httpx.AsyncClient(timeout=60) as client:
                posts = [
                    (
                        email,
                        client.post(
                            srv.url + path, json={"data": {"email": email}}, headers=headers
                        ),
                    )
                    for email in emails
                    for srv in servers
                ]
                done = await asyncio.gather(*(p for _, p in posts))
                return [(email, r) for (email, _), r in zip(posts, done, strict=True)]

        with sessions() as holder, ThreadPoolExecutor(1) as pool:
            for email in emails:
                holder.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": d.lock_of(email)})
            sent = pool.submit(asyncio.run, send_all())
            wait_for(lambda: advisory_waiters(sessions) >= 2, what="both processes at the locks")
            holder.rollback()
            results = sent.result(timeout=60)
        for email in emails:
            leads = [r.json() for e, r in results if e == email]
            assert all(r.status_code == 201 for e, r in results if e == email), leads
            assert sorted(lead["status"] for lead in leads) == ["invalid", "valid"], leads
            first = next(lead for lead in leads if lead["status"] == "valid")
            second = next(lead for lead in leads if lead["status"] == "invalid")
            assert duplicate_of(second) == first["id"]
    finally:
        for srv in servers:
            srv.stop()


# --- 2. windows, scopes, normalisation, what counts ------------------------------------------


def test_the_lookback_window(acme: Api, sessions: sessionmaker[Session]) -> None:
    d = Dup(acme, {"lookback_days": 90})
    email = unique()
    first = d.post({"email": email})
    age_keys(sessions, first["id"], 91)
    second = d.post({"email": email})
    assert second["status"] == "valid", second
    age_keys(sessions, second["id"], 89)
    third = d.post({"email": email})
    assert duplicate_of(third) == second["id"]  # the newest earlier lead
    acme.ok(
        "PATCH", f"/campaigns/{d.cid}/jobs/{d.job['id']}", json={"config": {"lookback_days": 0}}
    )
    for lead, days in ((first, 4000), (second, 3500), (third, 3000)):
        age_keys(sessions, lead["id"], days)
    fourth = d.admin_post({"email": email})
    assert duplicate_of(fourth) == third["id"]
    assert "(in this campaign, any time)" in fourth["flags"][0]["message"]


def test_scopes(acme: Api, other: Api) -> None:
    email = unique()
    pub_a = acme.publisher("A")
    campaign = Dup(acme, name="Campaign scope", publisher=pub_a)
    second_campaign = Dup(acme, name="Campaign scope too", publisher=pub_a)
    assert campaign.post({"email": email})["status"] == "valid"
    assert second_campaign.post({"email": email})["status"] == "valid"
    assert duplicate_of(campaign.post({"email": email})) is not None

    by_publisher = Dup(acme, {"scope": "publisher"}, name="Publisher scope", publisher=pub_a)
    pub_b, key_b = acme.publisher("B")
    by_publisher.grant(pub_b["id"])
    first = by_publisher.post({"email": email})
    assert first["status"] == "valid"
    assert by_publisher.post({"email": email}, key=key_b["key"])["status"] == "valid"
    assert duplicate_of(by_publisher.post({"email": email})) == first["id"]
    # An admin's leads are one publisher of their own.
    assert by_publisher.admin_post({"email": email})["status"] == "valid"
    assert by_publisher.admin_post({"email": email})["status"] == "invalid"

    everywhere = {"scope": "instance", "lookback_days": 0}
    one = Dup(acme, everywhere, name="Instance scope", publisher=pub_a)
    two = Dup(acme, everywhere | {"normalise": False}, name="Instance scope too", publisher=pub_a)
    first = one.post({"email": email})
    assert first["status"] == "valid"
    assert duplicate_of(two.post({"email": email})) == first["id"]
    assert duplicate_of(one.post({"email": email})) is not None
    # Another instance holds its own keys.
    assert Dup(other, everywhere, name="Elsewhere").post({"email": email})["status"] == "valid"


def test_normalising_ignores_case_spaces_and_plus_tags(acme: Api) -> None:
    d = Dup(acme)
    email = unique()
    first = d.post({"email": email.replace("@", "+webinar@").upper()})
    assert duplicate_of(d.post({"email": f" {email} "})) == first["id"]
    exact = Dup(acme, {"normalise": False}, name="Exact")
    assert exact.post({"email": email})["status"] == "valid"
    assert exact.post({"email": email.upper()})["status"] == "valid"
    assert exact.post({"email": email})["status"] == "invalid"
    # A blank value claims nothing.
    assert [exact.post({"email": " "})["status"] for _ in range(2)] == ["valid", "valid"]


def test_count_invalid_false_counts_only_valid_and_held_leads(acme: Api) -> None:
    named = {"type": "required_fields", "config": {"fields": ["firstName"]}, "hardfail": True}
    counting = Dup(acme, jobs=[named], name="Counting")
    lenient = Dup(acme, {"count_invalid": False}, jobs=[named], name="Lenient")
    for d, second_status in ((counting, "invalid"), (lenient, "valid")):
        email = unique()
        first = d.post({"email": email})  # no first name: invalid
        assert first["status"] == "invalid" and codes(first) == ["required_fields.missing"]
        second = d.post({"email": email, "firstName": "Kim"})
        assert second["status"] == second_status, second
    email = unique()
    held = lenient.post({"email": email})
    acme.ok("POST", f"/leads/{held['id']}/validate", json={"reason": "checked", "user": "ann"})
    assert duplicate_of(lenient.post({"email": email, "firstName": "Kim"})) == held["id"]


# --- 3. reprocessing, deleted and returned leads ---------------------------------------------


def test_reprocessing_is_never_a_duplicate_of_itself(
    acme: Api, sessions: sessionmaker[Session]
) -> None:
    d = Dup(acme)
    email = unique()
    first = d.post({"email": email})
    second = d.post({"email": email})
    for _ in range(2):
        again = acme.ok("POST", f"/leads/{first['id']}/reprocess")
        assert (again["status"], again["flags"]) == ("valid", [])
        again = acme.ok("POST", f"/leads/{second['id']}/reprocess")
        assert again["status"] == "invalid" and duplicate_of(again) == first["id"]
    assert [(k.scope_ref, k.state) for k in key_rows(sessions, first["id"])] == [
        (f"c:{d.cid}", "valid")
    ]
    assert [k.state for k in key_rows(sessions, second["id"])] == ["invalid"]


def test_a_deleted_lead_frees_its_value(acme: Api, sessions: sessionmaker[Session]) -> None:
    d = Dup(acme)
    email = unique()
    first = d.post({"email": email})
    assert key_rows(sessions, first["id"])
    with sessions() as session:
        session.execute(delete(Lead).where(Lead.id == first["id"]))
        session.commit()
    assert key_rows(sessions, first["id"]) == []
    assert d.post({"email": email})["status"] == "valid"


def test_returned_leads_free_their_value_when_configured(
    acme: Api, sessions: sessionmaker[Session]
) -> None:
    freeing = Dup(acme, {"free_returned": True}, name="Freeing")
    keeping = Dup(acme, name="Keeping")
    for d, then in ((freeing, "valid"), (keeping, "invalid")):
        email = unique()
        first = d.post({"email": email})
        acme.ok(
            "POST", f"/leads/{first['id']}/invalidate", json={"reason": "returned", "user": "ann"}
        )
        assert [k.state for k in key_rows(sessions, first["id"])] == ["returned"]
        assert d.post({"email": email})["status"] == then
    # Marked valid again, it counts again.
    email = unique()
    first = freeing.post({"email": email})
    acme.ok("POST", f"/leads/{first['id']}/invalidate", json={"reason": "returned", "user": "ann"})
    acme.ok("POST", f"/leads/{first['id']}/validate", json={"reason": "after all", "user": "ann"})
    assert [k.state for k in key_rows(sessions, first["id"])] == ["valid"]
    assert duplicate_of(freeing.post({"email": email})) == first["id"]


# --- 4. every entrance alike, with transforms ------------------------------------------------

TRANSFORMS = {
    "type": "value_transforms",
    "config": {
        "rules": [
            {"field_name": "email", "transform": "email_lower"},
            {"field_name": "country", "transform": "upper"},
            {"field_name": "phone", "transform": "phone_e164", "region": "GB"},
            {"field_name": "firstName", "transform": "title"},
        ]
    },
}
COUNTRY = {
    "type": "simple_conditional_validation",
    "config": {"field_name": "country", "operator": "EQUAL", "values": ["GB", "US"]},
}


def _bodies(tag: str) -> list[dict[str, Any]]:
    a, b = f"ann.{tag}@acme.example", f"bo.{tag}@acme.example"
    return [
        {"email": f" {a.upper()} ", "country": "gb", "phone": "07911 123456", "firstName": "ann"},
        {"email": b, "country": "de"},
        {"email": a.replace("@", "+x@"), "country": "us"},
        {"email": "", "country": "us"},
        {"email": b, "country": "GB", "firstName": "BO LEE"},
    ]


def _shape(sessions: sessionmaker[Session], leads: list[dict[str, Any]], tag: str) -> list[Any]:
    """What the database holds of each lead, with lead ids as positions and the tag removed."""
    ids = {lead["id"]: n for n, lead in enumerate(leads)}
    out = []
    with sessions() as session:
        for lead in leads:
            row = session.get(Lead, lead["id"])
            assert row is not None
            flags = [
                re.sub(
                    r"lead (\d+), received [^(]*",
                    lambda m: f"lead #{ids[int(m.group(1))]} ",
                    f["message"],
                )
                for f in row.flags
            ]
            events = [(e, d.get("fields")) for e, d in history(sessions, row.id)]
            keys = [(k.scope_ref, k.state) for k in key_rows(sessions, row.id)]
            out.append((row.data, row.status, row.score, flags, events, keys))
    # As JSON, with the run's tag replaced: the runs' shapes compare equal.
    return json.loads(json.dumps(out).replace(tag, "TAG").replace(tag.upper(), "TAG"))


def test_both_drivers_and_the_admin_route_judge_alike(
    acme: Api, drivers: dict[str, Driver], sessions: sessionmaker[Session]
) -> None:
    d = Dup(acme, jobs=[COUNTRY, TRANSFORMS])
    shapes = {}
    for name in ("general", "fast", "warm general"):
        tag = secrets.token_hex(4)
        driver = drivers["general" if name == "warm general" else name]
        leads = answers(driver(d.subs(_bodies(tag))))
        shapes[name] = _shape(sessions, leads, tag)
    tag = secrets.token_hex(4)
    admin = [d.admin_post(body) for body in _bodies(tag)]
    shapes["admin"] = _shape(sessions, admin, tag)
    expected = shapes["general"]
    assert [row[1] for row in expected] == ["valid", "invalid", "invalid", "valid", "invalid"]
    assert expected[0][0] == {
        "email": "ann.TAG@acme.example",
        "country": "GB",
        "phone": "+447911123456",
        "firstName": "Ann",
    }
    assert expected[0][4] == [
        ["received", None],
        [
            "transformed",
            {
                "email": {"from": " ANN.TAG@ACME.EXAMPLE ", "to": "ann.TAG@acme.example"},
                "country": {"from": "gb", "to": "GB"},
                "phone": {"from": "07911 123456", "to": "+447911123456"},
                "firstName": {"from": "ann", "to": "Ann"},
            },
        ],
        ["judged", None],
        ["status_changed", None],
    ]
    assert expected[2][3] == [
        "The field email holds the same value as lead #0 (in this campaign, the last 90 days). "
        "The value supplied was ann.TAG+x@acme.example"
    ]
    assert expected[1][3][0].startswith("The field country with the operator EQUAL")
    assert expected[4][3] == [
        "The field email holds the same value as lead #1 (in this campaign, the last 90 days). "
        "The value supplied was bo.TAG@acme.example"
    ]
    assert expected[3][5] == []  # a blank value claims nothing
    assert expected[1][5] == [[f"c:{d.cid}", "invalid"]]
    for name, shape in shapes.items():
        assert shape == expected, name


def test_transformed_leads_replay_as_sent_and_rejudge_without_changes(
    acme: Api, sessions: sessionmaker[Session]
) -> None:
    d = Dup(acme, jobs=[TRANSFORMS])
    body = {"email": f" {unique().upper()}", "country": "gb"}
    path = f"/publisher/campaigns/{d.cid}/leads"
    first = acme.call(
        "POST", path, secret=d.key, json={"data": body}, headers={"Idempotency-Key": "t1"}
    )
    again = acme.call(
        "POST", path, secret=d.key, json={"data": body}, headers={"Idempotency-Key": "t1"}
    )
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    lead_id = first.json()["id"]
    before = history(sessions, lead_id)
    acme.ok("POST", f"/leads/{lead_id}/reprocess")
    after = history(sessions, lead_id)
    assert [e for e, _ in after[len(before) :]] == ["judged"]
    full = acme.ok("GET", f"/leads/{lead_id}")
    assert full["data"]["country"] == "GB"
    assert [h["event"] for h in full["history"]][:2] == ["received", "transformed"]


def test_keys_hold_no_plain_value(acme: Api, sessions: sessionmaker[Session]) -> None:
    d = Dup(acme, {"scope": "instance"})
    email = unique()
    lead = d.post({"email": email})
    with sessions() as session:
        row = session.execute(
            text("SELECT row_to_json(k)::text FROM lead_keys k WHERE lead_id = :id"),
            {"id": lead["id"]},
        ).scalar_one()
    assert email.split("@")[0] not in row and "acme" not in row
    (key,) = key_rows(sessions, lead["id"])
    assert (key.scope_ref, key.hash) == ("i", hashlib.sha256(email.encode()).digest())


def test_outcomes_of_a_failed_claim_are_errors_not_leads(
    acme: Api, drivers: dict[str, Driver]
) -> None:
    """A refused submission in a claiming batch takes down only itself."""
    d = Dup(acme)
    email = unique()
    subs = d.subs([{"email": email}, {"email": email, "shoeSize": 44}, {"email": email}])
    outcomes = drivers["general"](subs)
    assert isinstance(outcomes[1], LeadgateError) and outcomes[1].code == "unknown_fields"
    leads = [o.lead for o in outcomes if isinstance(o, Accepted)]
    assert [lead.status for lead in leads] == ["valid", "invalid"]


@pytest.fixture(autouse=True)
def _no_leftover_locks(sessions: sessionmaker[Session]) -> Iterator[None]:
    yield
    assert advisory_waiters(sessions) == 0


# --- 5. the batch bookkeeping, no database ---------------------------------------------------


def test_an_earlier_lead_of_the_batch_counts_only_in_a_state_that_counts() -> None:
    from datetime import UTC, datetime, timedelta

    from leadgate.leads.keys import Claimant, Earliers, key_rows, key_state
    from leadgate.processr.plugin import Claim, Earlier

    strict = Claim("c:1", b"k" * 32, frozenset({"valid", "caution"}))
    lenient = Claim("c:1", b"k" * 32, frozenset({"valid", "invalid"}))
    a, b, c = (Claimant(9, (strict, lenient)) for _ in range(3))
    earliers = Earliers.asking([a, b, c])
    assert len(earliers.probes) == 2  # one probe per (key, states)
    now = datetime(2026, 1, 2, tzinfo=UTC)
    then = now - timedelta(days=3)
    params = earliers.params(3)
    assert params["n"] == 3 and '"scope_ref":"c:1"' in params["q"]
    earliers.answered([(0, None, None, now, [12, 10, 11]), (1, 5, then, now, None)])
    assert earliers.ids == [10, 11, 12]
    assert earliers.for_lead(a) == {strict: None, lenient: Earlier(5, then, timedelta(days=3))}
    earliers.judged(a, 10, "invalid")
    assert earliers.for_lead(b) == {strict: None, lenient: Earlier(10, now, timedelta(0))}
    earliers.judged(b, 11, "valid")
    assert earliers.for_lead(c) == {
        strict: Earlier(11, now, timedelta(0)),
        lenient: Earlier(11, now, timedelta(0)),
    }
    # One row per key, however many claims name it.
    assert key_rows(a, "valid", ord=0) == [
        {"instance_id": 9, "scope_ref": "c:1", "digest": "6b" * 32, "state": "valid", "ord": 0}
    ]
    assert [key_state(s, by) for s, by in [("invalid", "user"), ("invalid", "client")]] == [
        "returned",
        "returned",
    ]
    assert key_state("invalid", "processr") == "invalid"
    assert key_state("valid", "client") == "valid"
