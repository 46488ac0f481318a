"""Connect delivery and status sync end to end, over real HTTP between two server processes."""

from __future__ import annotations

import json
import random
import secrets
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker
from standardwebhooks import Webhook

from leadgate.db import transaction
from leadgate.delivery.models import DeliveryConnection
from leadgate.delivery.service import queue_drain
from leadgate.delivery.tasks import drain
from leadgate.users.service import create_instance
from tests.e2e.test_connect_mirror import Instance
from tests.servers import Server, free_port, server_env, wait_for

CLIENT_FORM = [
    {"name": "company", "required": True},
    {"name": "email", "required": True},
    {"name": "country"},
]
OUR_FORM = [
    {"name": "companyName", "label": "Company"},
    {"name": "workEmail", "label": "Email"},
    {"name": "countryCode", "label": "Country"},
]
MAPPING = {"company": "companyName", "email": "workEmail", "country": "countryCode"}


@pytest.fixture(scope="module")
def deployment(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Server, Server]]:
    logs = tmp_path_factory.mktemp("delivery-logs")
    a_port, b_port = free_port(), free_port()
    env = server_env(
        database_url,
        a_port,
        LEADGATE_DELIVERY_RETRY_BASE_S="0.3",
        LEADGATE_DELIVERY_RETRY_CAP_S="2",
        LEADGATE_CIRCUIT_THRESHOLD="3",
        LEADGATE_STALLED_AFTER_S="4",
        LEADGATE_WORKER_HEARTBEAT_S="1",
        LEADGATE_DELIVERY_MAX_ATTEMPTS="30",
        # Small batches, so a backlog of a few dozen leads is sent by parallel drains.
        LEADGATE_DELIVERY_BATCH_SIZE="10",
    )
    a = Server(a_port, env, Path(logs / "a.log")).start()
    b = Server(b_port, env, Path(logs / "b.log")).start()
    yield a, b
    a.stop()
    b.stop()


class World:
    def __init__(self, sessions: sessionmaker[Session], a: Server, b: Server) -> None:
        self.sessions = sessions
        with transaction(sessions) as s:
            acme_sub, leadco_sub = f"acme-{secrets.token_hex(3)}", f"leadco-{secrets.token_hex(3)}"
            self.acme = Instance(a, acme_sub, create_instance(s, acme_sub).admin_token)
            self.leadco = Instance(b, leadco_sub, create_instance(s, leadco_sub).admin_token)
        self.client_campaign = self.acme.ok(
            "POST", "/campaigns", 201, json={"name": "Acme inbound", "fields": CLIENT_FORM}
        )
        self.pub = self.acme.ok("POST", "/publishers", 201, json={"name": "LeadCo"})
        self.key = self.acme.ok("POST", f"/publishers/{self.pub['id']}/api-keys", 201)["key"]
        self.acme.ok(
            "PUT", f"/campaigns/{self.client_campaign['id']}/publishers/{self.pub['id']}", 204
        )
        self.acme.ok(
            "POST",
            f"/campaigns/{self.client_campaign['id']}/jobs",
            201,
            json={"type": "required_fields", "config": {"fields": ["company", "email"]}},
        )
        self.campaign = self.leadco.ok(
            "POST", "/campaigns", 201, json={"name": "Outbound", "fields": OUR_FORM}
        )
        self.leadco.ok(
            "POST",
            f"/campaigns/{self.campaign['id']}/jobs",
            201,
            json={"type": "required_fields", "config": {"fields": ["workEmail"]}},
        )

    def config(self, **extra: Any) -> dict[str, Any]:
        return {
            "API_Key": self.key,
            "Subdomain": self.acme.subdomain,
            "Campaign": self.client_campaign["id"],
            "Field_mapping": MAPPING,
            **extra,
        }

    def add_delivery(self) -> dict[str, Any]:
        job: dict[str, Any] = self.leadco.ok(
            "POST",
            f"/campaigns/{self.campaign['id']}/jobs",
            201,
            json={"type": "connect_delivery", "config": self.config()},
        )
        self.job = job
        return job

    def lead(self, **data: Any) -> dict[str, Any]:
        lead: dict[str, Any] = self.leadco.ok(
            "POST", f"/campaigns/{self.campaign['id']}/leads", 201, json={"data": data}
        )
        return lead

    def deliveries(self, lead_id: int) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = self.leadco.ok("GET", f"/leads/{lead_id}")["deliveries"]
        return out

    def delivered(self, lead_id: int) -> dict[str, Any] | None:
        ds = self.deliveries(lead_id)
        return ds[0] if ds and ds[0]["state"] == "delivered" else None

    def client_leads(self) -> list[dict[str, Any]]:
        out, cursor = [], None
        while True:
            q = f"/leads?campaign_id={self.client_campaign['id']}&limit=500" + (
                f"&cursor={cursor}" if cursor else ""
            )
            page = self.acme.ok("GET", q)
            out += page["items"]
            cursor = page["next_cursor"]
            if not cursor:
                return out

    def drained(self) -> bool:
        """The publisher has nothing left to send on this connection: no drain job waits or
        runs, and every delivery row is in a final state (delivered or dead)."""
        with self.sessions() as s:
            jobs = s.execute(
                text(
                    "SELECT count(*) FROM procrastinate_jobs WHERE task_name = :t "
                    "AND status IN ('todo', 'doing') AND (args->>'connection_id')::bigint = :j"
                ),
                {"t": drain.name, "j": self.job["id"]},
            ).scalar_one()
            open_rows = s.execute(
                text(
                    "SELECT count(*) FROM deliveries WHERE job_id = :j "
                    "AND state NOT IN ('delivered', 'dead')"
                ),
                {"j": self.job["id"]},
            ).scalar_one()
        return jobs == 0 and open_rows == 0

    def connection(self) -> dict[str, Any]:
        out: dict[str, Any] = self.leadco.ok(
            "GET", f"/campaigns/{self.campaign['id']}/jobs/{self.job['id']}/connection"
        )
        return out


@pytest.fixture
def world(deployment: tuple[Server, Server], sessions: sessionmaker[Session]) -> World:
    return World(sessions, *deployment)


def test_mapping_is_pulled_suggested_and_checked(world: World) -> None:
    w = world
    view = w.leadco.ok(
        "POST", "/connect/field-mapping", json={**w.config(), "campaign_id": w.campaign["id"]}
    )
    assert [f["name"] for f in view["client_fields"]] == ["company", "email", "country"]
    assert view["suggested"] == MAPPING
    r = w.leadco.call(
        "POST",
        f"/campaigns/{w.campaign['id']}/jobs",
        json={
            "type": "connect_delivery",
            "config": w.config(Field_mapping={"company": "companyName"}),
        },
    )
    assert r.status_code == 422 and r.json()["code"] == "mapping_incomplete"
    assert r.json()["problems"] == ["the client's required field email is not mapped"]
    assert r.json()["suggested"] == MAPPING
    assert [
        j
        for j in w.leadco.ok("GET", f"/campaigns/{w.campaign['id']}/jobs")["items"]
        if j["type"] == "connect_delivery"
    ] == []
    r = w.leadco.call(
        "POST",
        f"/campaigns/{w.campaign['id']}/jobs",
        json={"type": "connect_delivery", "config": w.config(API_Key="lgp_wrong_key_000")},
    )
    assert r.status_code == 422 and r.json()["code"] == "connect_credentials_rejected"


def test_delivery_status_sync_and_replays(world: World) -> None:
    w = world
    job = w.add_delivery()
    assert job["tab"] == "integration" and job["config"]["API_Key"].startswith("••••")
    invalid = w.lead(companyName="NoEmail Inc")  # fails our own check: never delivered
    lead = w.lead(companyName="Globex", workEmail="kim@globex.example", countryCode="US")
    assert lead["status"] == "valid"
    d = wait_for(lambda: w.delivered(lead["id"]))
    assert d["attempts"] == 1 and d["client_status"] == "valid"
    assert w.deliveries(invalid["id"]) == []
    (theirs,) = w.client_leads()
    assert str(theirs["id"]) == d["client_lead_id"]
    assert w.acme.ok("GET", f"/leads/{theirs['id']}")["data"] == {
        "company": "Globex",
        "email": "kim@globex.example",
        "country": "US",
    }

    # Sending the same delivery again (as after a crash) makes no second lead at the client.
    with w.sessions() as s:
        s.execute(text("UPDATE deliveries SET state = 'queued' WHERE id = :d"), {"d": d["id"]})
        queue_drain(s, job["id"])
        s.commit()
    wait_for(w.drained, what="the delivery queue drained after the resend")
    assert w.delivered(lead["id"])
    assert len(w.client_leads()) == 1

    # The client marks the lead invalid: the event updates our lead and its history.
    w.acme.ok(
        "POST",
        f"/leads/{theirs['id']}/invalidate",
        json={"reason": "wrong person", "user": "kim@acme"},
    )
    ours = wait_for(
        lambda: (x := w.leadco.ok("GET", f"/leads/{lead['id']}"))["status"] == "invalid" and x
    )
    change = [h for h in ours["history"] if h["event"] == "status_changed"][-1]
    assert change["detail"]["by"] == "client" and change["detail"]["user"] == "kim@acme"
    assert "wrong person" in change["detail"]["reason"]
    assert ours["deliveries"][0]["client_status"] == "invalid"

    # Replayed, forged, stale and foreign events change nothing.
    with w.sessions() as s:
        connection = s.get(DeliveryConnection, job["id"])
        assert connection is not None and connection.webhook_secret is not None
        secret = connection.webhook_secret  # opened by its column: stored sealed
    url = f"{w.leadco.server.url}/i/{w.leadco.subdomain}/api/v1/connect/lead-events/{job['id']}"

    def send(
        data: dict[str, Any],
        *,
        msg_id: str | None = None,
        key: str = secret,
        at: datetime | None = None,
    ) -> httpx.Response:
        body = json.dumps({"type": "lead.status_changed", "timestamp": "x", "data": data})
        msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
        at = at or datetime.now(UTC)
        headers = {
            "webhook-id": msg_id,
            "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": Webhook(key).sign(msg_id, at, body),
            "content-type": "application/json",
        }
        return httpx.post(url, content=body, headers=headers)

    valid_again = {
        "lead_id": theirs["id"],
        "status": "valid",
        "reason": "called back",
        "user": "kim",
    }
    assert send(valid_again, msg_id="msg_replay").status_code == 204
    assert w.leadco.ok("GET", f"/leads/{lead['id']}")["status"] == "valid"
    w.leadco.ok(
        "POST", f"/leads/{lead['id']}/invalidate", json={"reason": "our call", "user": "me"}
    )
    assert send(valid_again, msg_id="msg_replay").status_code == 204  # replay: ignored
    assert w.leadco.ok("GET", f"/leads/{lead['id']}")["status"] == "invalid"
    forged = send(valid_again, key="whsec_" + "A" * 32)
    assert forged.status_code == 401
    stale = send(valid_again, at=datetime.now(UTC) - timedelta(minutes=10))
    assert stale.status_code == 401
    foreign = send({**valid_again, "lead_id": 987654321})
    assert foreign.status_code == 422 and foreign.json()["code"] == "unknown_lead"
    assert w.leadco.ok("GET", f"/leads/{lead['id']}")["status"] == "invalid"


def test_client_down_then_dead_letters_and_circuit(
    world: World, deployment: tuple[Server, Server]
) -> None:
    a, _ = deployment
    w = world
    w.add_delivery()
    a.stop()  # the client is down for a while
    try:
        leads = [w.lead(companyName=f"Co {i}", workEmail=f"{i}@co.example") for i in range(5)]
        # Three failures in a row open the circuit: the rest of the backlog is held.
        wait_for(lambda: w.connection()["state"] == "paused", timeout=30)
        assert w.connection()["paused_by"] == "breaker"
        assert "deliveries in a row failed" in w.connection()["paused_reason"]
        wait_for(lambda: any(w.deliveries(x["id"])[0]["state"] == "held" for x in leads))
    finally:
        a.start()
    # The breaker probes the client, finds it back, resumes and drains the backlog in order.
    for x in leads:
        wait_for(lambda x=x: w.delivered(x["id"]), timeout=60)
    assert w.connection()["state"] == "open"
    assert sorted(c["id"] for c in w.client_leads()) == sorted(
        int(w.deliveries(x["id"])[0]["client_lead_id"]) for x in leads
    )
    first = w.deliveries(leads[0]["id"])[0]
    attempts = w.leadco.ok("GET", f"/deliveries/{first['id']}")["attempt_log"]
    assert [x["outcome"] for x in attempts][-1] == "delivered" and len(attempts) >= 2

    # A permanent refusal (paused client campaign) is a dead letter; retry all once resumed.
    w.acme.ok("PATCH", f"/campaigns/{w.client_campaign['id']}", json={"status": "paused"})
    refused = w.lead(companyName="Paused", workEmail="p@co.example")
    wait_for(lambda: w.deliveries(refused["id"])[0]["state"] == "dead")
    dead = w.leadco.ok("GET", f"/deliveries?campaign_id={w.campaign['id']}&state=dead")["items"]
    assert [x["lead_id"] for x in dead] == [refused["id"]] and "403" in dead[0]["last_error"]
    w.acme.ok("PATCH", f"/campaigns/{w.client_campaign['id']}", json={"status": "active"})
    assert w.leadco.ok("POST", f"/campaigns/{w.campaign['id']}/deliveries/retry") == {"retried": 1}
    wait_for(lambda: w.delivered(refused["id"]))

    # A user pause holds deliveries until the user resumes; then they drain.
    w.leadco.ok(
        "PATCH",
        f"/campaigns/{w.campaign['id']}/jobs/{w.job['id']}/connection",
        json={"paused": True},
    )
    held = w.lead(companyName="Held", workEmail="h@co.example")
    wait_for(lambda: w.deliveries(held["id"])[0]["state"] == "held")
    assert w.connection()["paused_by"] == "user"
    w.leadco.ok(
        "PATCH",
        f"/campaigns/{w.campaign['id']}/jobs/{w.job['id']}/connection",
        json={"paused": False},
    )
    wait_for(lambda: w.delivered(held["id"]))
    assert w.connection()["state"] == "open"


def test_crash_safety_exactly_once(world: World, deployment: tuple[Server, Server]) -> None:
    """kill -9 the publisher's process and the client's process at random points while 200 leads
    are delivered in batches (of 10 here) by parallel drains; after restarts every valid lead
    exists exactly once at the client."""
    a, b = deployment
    w = world
    w.add_delivery()
    rng = random.Random(7)
    ids: list[int] = []
    conn_path = f"/campaigns/{w.campaign['id']}/jobs/{w.job['id']}/connection"
    for i in range(200):
        if i == 20:  # a backlog of 30 (held, then released at once): parallel drains send it
            w.leadco.ok("PATCH", conn_path, json={"paused": True})
        if i == 50:
            w.leadco.ok("PATCH", conn_path, json={"paused": False})
        ids.append(w.lead(companyName=f"Crash {i}", workEmail=f"c{i}@co.example")["id"])
        if i in (60, 140):
            b.stop(kill=True)
            time.sleep(rng.uniform(0.05, 0.5))
            b.start()
        if i == 100:
            a.stop(kill=True)
            time.sleep(rng.uniform(0.05, 0.5))
            a.start()
    time.sleep(rng.uniform(0.1, 0.4))
    b.stop(kill=True)
    b.start()

    def states() -> dict[str, int]:
        with w.sessions() as s:
            rows = s.execute(
                text("SELECT state, count(*) FROM deliveries WHERE job_id = :j GROUP BY state"),
                {"j": w.job["id"]},
            ).all()
        return {state: int(n) for state, n in rows}

    try:
        wait_for(
            lambda: states() == {"delivered": 200} and w.drained(),
            timeout=180,
            interval=1,
            what="all 200 deliveries delivered and the delivery queue drained",
        )
    except AssertionError:
        with w.sessions() as s:
            jobs = s.execute(
                text("SELECT task_name, status, count(*) FROM procrastinate_jobs GROUP BY 1, 2")
            ).all()
            conn = s.execute(
                text(
                    "SELECT state, paused_by, paused_reason FROM delivery_connections "
                    "WHERE job_id = :j"
                ),
                {"j": w.job["id"]},
            ).all()
            todo = s.execute(
                text(
                    "SELECT id, lock, scheduled_at, now(), worker_id FROM "
                    "procrastinate_jobs WHERE status = 'todo' ORDER BY id LIMIT 3"
                )
            ).all()
            workers = s.execute(
                text("SELECT id, last_heartbeat, now() FROM procrastinate_workers")
            ).all()
            conn = [*conn, todo, workers]
        raise AssertionError(f"deliveries {states()}; queue {jobs}; connection {conn}") from None
    theirs = w.client_leads()
    assert len(theirs) == 200
    with w.sessions() as s:  # the backlog after each restart was sent by parallel drains
        slots = s.execute(
            text(
                "SELECT count(DISTINCT queueing_lock) FROM procrastinate_jobs "
                "WHERE task_name = :t AND queueing_lock LIKE :slot"
            ),
            {"t": drain.name, "slot": f"drain-{w.job['id']}-%"},
        ).scalar_one()
    assert slots >= 1, "no parallel drain ran"
    with w.sessions() as s:
        client_ids = (
            s.execute(
                text("SELECT client_lead_id FROM deliveries WHERE job_id = :j"), {"j": w.job["id"]}
            )
            .scalars()
            .all()
        )
    assert sorted(client_ids) == sorted(t["id"] for t in theirs)


def test_campaigns_that_check_nothing_still_deliver_and_accept(world: World) -> None:
    """A reseller's campaign whose only job is the delivery, into a client campaign with no
    jobs at all: nothing to fail on either side, so the lead is valid, delivered, valid there."""
    w = world
    bare = w.acme.ok("POST", "/campaigns", 201, json={"name": "No checks", "fields": CLIENT_FORM})
    w.acme.ok("PUT", f"/campaigns/{bare['id']}/publishers/{w.pub['id']}", 204)
    reseller = w.leadco.ok("POST", "/campaigns", 201, json={"name": "Resold", "fields": OUR_FORM})
    w.leadco.ok(
        "POST",
        f"/campaigns/{reseller['id']}/jobs",
        201,
        json={"type": "connect_delivery", "config": w.config(Campaign=bare["id"])},
    )
    data = {"companyName": "Acme", "workEmail": "kim@acme.example", "countryCode": "GB"}
    lead = w.leadco.ok("POST", f"/campaigns/{reseller['id']}/leads", 201, json={"data": data})
    assert (lead["status"], lead["score"], lead["max_score"]) == ("valid", 0, 0)
    d = wait_for(lambda: w.delivered(lead["id"]), what="the lead delivered to the bare campaign")
    assert d["client_status"] == "valid"
    theirs = w.acme.ok("GET", f"/leads/{d['client_lead_id']}")
    assert theirs["campaign_id"] == bare["id"] and theirs["status"] == "valid"
    assert theirs["data"] == {"company": "Acme", "email": "kim@acme.example", "country": "GB"}


def test_two_instances_delivering_to_each_other_stop_after_one_round(world: World) -> None:
    """leadco delivers into acme and acme delivers back into leadco: the lead goes there once,
    and acme's delivery back is refused as a loop and ends dead (issue 16, finding 1)."""
    w = world
    w.add_delivery()
    back_pub = w.leadco.ok("POST", "/publishers", 201, json={"name": "Acme, delivering back"})
    back_key = w.leadco.ok("POST", f"/publishers/{back_pub['id']}/api-keys", 201)["key"]
    w.leadco.ok("PUT", f"/campaigns/{w.campaign['id']}/publishers/{back_pub['id']}", 204)
    back = w.acme.ok(
        "POST",
        f"/campaigns/{w.client_campaign['id']}/jobs",
        201,
        json={
            "type": "connect_delivery",
            "config": {
                "API_Key": back_key,
                "Subdomain": w.leadco.subdomain,
                "Campaign": w.campaign["id"],
                "Field_mapping": {v: k for k, v in MAPPING.items()},
            },
        },
    )
    lead = w.lead(companyName="Pingpong", workEmail="pp@co.example", countryCode="US")
    d = wait_for(lambda: w.delivered(lead["id"]), what="the lead delivered to acme")
    theirs = w.acme.ok("GET", f"/leads/{d['client_lead_id']}")
    assert theirs["history"][0]["detail"]["hops"] == [w.leadco.subdomain]

    def refused() -> dict[str, Any] | None:
        ds = w.acme.ok("GET", f"/leads/{theirs['id']}")["deliveries"]
        return ds[0] if ds and ds[0]["state"] == "dead" else None

    dead = wait_for(refused, what="acme's delivery back to leadco refused as a loop")
    assert dead["attempts"] == 1
    detail = w.acme.ok("GET", f"/deliveries/{dead['id']}")
    assert "already passed through" in detail["last_error"]
    assert [
        x["id"] for x in w.leadco.ok("GET", f"/leads?campaign_id={w.campaign['id']}")["items"]
    ] == [lead["id"]]
    assert len(w.client_leads()) == 1
    connection = w.acme.ok(
        "GET", f"/campaigns/{w.client_campaign['id']}/jobs/{back['id']}/connection"
    )
    assert connection["state"] == "open" and connection["consecutive_failures"] == 0
