"""`/metrics` (Prometheus text format): its counters equal the deliveries a test made, and its
database gauges equal the tables (issue 16)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from leadgate.config import Settings
from leadgate.db import transaction
from leadgate.delivery import service as delivery
from leadgate.delivery.models import Delivery
from leadgate.kit.ratelimit import RateLimiter
from leadgate.leads.intake import LeadIntake
from tests.conftest import AppTransport
from tests.factories import CONNECT_BODIES, Api, Connected
from tests.servers import Server, free_port, server_env

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(client: TestClient) -> Samples:
    """Every sample of `/metrics`, by (name, labels)."""
    r = client.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    out = {}
    for family in text_string_to_metric_families(r.text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def moved(before: Samples, after: Samples, name: str, **labels: str) -> float:
    """How far a sample moved between two scrapes (0 for one neither has)."""
    key = (name, tuple(sorted(labels.items())))
    return after.get(key, 0.0) - before.get(key, 0.0)


def test_delivery_counters_and_gauges_follow_what_happened(
    client: TestClient,
    acme: Api,
    other: Api,
    sessions: sessionmaker[Session],
    database_url: str,
    settings: Settings,
    peers: AppTransport,
) -> None:
    w = Connected(acme, other)
    before = scrape(client)
    outcomes = LeadIntake(sessions, RateLimiter(1000, 60), database_url).run(w.subs(CONNECT_BODIES))
    valid = sum(1 for o in outcomes if o.lead.status == "valid")
    assert valid == 2
    with transaction(sessions) as s, delivery.Peers(settings) as clients:
        assert delivery.deliver_due(s, w.delivery["id"], settings, clients) == valid
    after = scrape(client)

    assert moved(before, after, "leadgate_deliveries_delivered_total") == valid
    assert moved(before, after, "leadgate_delivery_attempts_total", outcome="delivered") == valid
    assert moved(before, after, "leadgate_delivery_latency_seconds_count") == valid
    with sessions() as s:
        delivered = s.scalar(select(func.count()).where(Delivery.state == "delivered"))
    assert after[("leadgate_deliveries", (("state", "delivered"),))] == delivered
    assert ("leadgate_mirrors", (("state", "ok"),)) in after
    assert any(name == "leadgate_task_queue_jobs" for name, _ in after)


def test_lead_counters_follow_the_intake(client: TestClient, acme: Api) -> None:
    campaign = acme.campaign()
    acme.ok(
        "POST",
        f"/campaigns/{campaign['id']}/jobs",
        201,
        json={"type": "required_fields", "config": {"fields": ["email"]}},
    )
    pub, key = acme.publisher()
    acme.ok("PUT", f"/campaigns/{campaign['id']}/publishers/{pub['id']}", 204)
    before = scrape(client)
    url = f"/i/{acme.subdomain}/api/v1/publisher/campaigns/{campaign['id']}/leads"
    auth = {"Authorization": f"Bearer {key['key']}"}
    for data in ({"email": "a@x.io"}, {"email": "b@x.io"}, {"email": "c@x.io"}, {}, {}):
        assert client.post(url, json={"data": data}, headers=auth).status_code == 201
    after = scrape(client)

    assert moved(before, after, "leadgate_leads_received_total", status="valid") == 3
    assert moved(before, after, "leadgate_leads_received_total", status="invalid") == 2
    assert moved(before, after, "leadgate_intake_batch_size_sum") == 5


@pytest.mark.e2e
def test_every_process_of_a_machine_is_counted(
    database_url: str, tmp_path: Path, acme: Api
) -> None:
    """`serve --processes 2`: leads answered by either process show in one scrape of either."""
    campaign = acme.campaign()
    pub, key = acme.publisher()
    acme.ok("PUT", f"/campaigns/{campaign['id']}/publishers/{pub['id']}", 204)
    port = free_port()
    env = server_env(database_url, port, PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"))
    srv = Server(port, env, tmp_path / "serve.log", args=("--processes", "2", "--no-worker"))
    srv.start()
    try:
        url = f"{srv.url}/i/{acme.subdomain}/api/v1/publisher/campaigns/{campaign['id']}/leads"
        for i in range(30):  # a new connection each: either process answers
            r = httpx.post(
                url,
                json={"data": {"email": f"m{i}@x.io"}},
                headers={"Authorization": f"Bearer {key['key']}"},
            )
            assert r.status_code == 201, r.text
        files = {p.name.split("_")[-1] for p in (tmp_path / "metrics").glob("counter_*.db")}
        assert len(files) >= 2, files  # both processes counted into the machine's folder
        scraped = {}
        for family in text_string_to_metric_families(httpx.get(srv.url + "/metrics").text):
            for sample in family.samples:
                scraped[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
        assert scraped[("leadgate_leads_received_total", (("status", "valid"),))] == 30
    finally:
        srv.stop()
