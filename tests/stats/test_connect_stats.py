"""The Connect side of the numbers: mirrors, the delivery backlog, and the client's verdicts,
which also change our leads' statuses (the rollup follows)."""

from __future__ import annotations

import time

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from leadgate.config import Settings
from leadgate.db import transaction
from leadgate.delivery import service as delivery
from leadgate.delivery.models import Delivery
from leadgate.kit.ratelimit import RateLimiter
from leadgate.leads.intake import LeadIntake
from tests.factories import CONNECT_BODIES, Api, Connected
from tests.stats.test_rollup import expected_keys, rollup_keys


@pytest.mark.usefixtures("peers")
def test_the_clients_verdicts_count_and_move_our_counts(
    acme: Api, other: Api, sessions: sessionmaker[Session], database_url: str, settings: Settings
) -> None:
    w = Connected(acme, other)
    outcomes = LeadIntake(sessions, RateLimiter(1000, 60), database_url).run(w.subs(CONNECT_BODIES))
    valid = [o.lead.id for o in outcomes if o.lead.status == "valid"]
    assert len(valid) == 2
    before = acme.ok("GET", "/stats", params={"campaign_id": w.cid})["connect"]
    assert before["delivery_backlog"] == 2 and before["dead_deliveries"] == 0
    assert [(m["job_id"], m["state"], m["client"]) for m in before["mirrors"]] == [
        (w.mirror["id"], "ok", other.subdomain)
    ]
    assert before["mirrors"][0]["age_seconds"] >= 0
    assert sum(v["accepted"] + v["returned"] + v["waiting"] for v in before["client_verdicts"]) == 0

    with transaction(sessions) as s, delivery.Peers(settings) as clients:
        assert delivery.deliver_due(s, w.delivery["id"], settings, clients) == 2
    delivered = acme.ok("GET", f"/leads/{valid[0]}")["deliveries"][0]
    other.ok(
        "POST",
        f"/leads/{delivered['client_lead_id']}/invalidate",
        json={"reason": "wrong contact", "user": "cy"},
    )
    # The poll asks the least recently checked deliveries of every instance first (other
    # tests' among them): poll until it has come to ours.
    deadline = time.monotonic() + 60
    while acme.ok("GET", f"/leads/{valid[0]}")["status"] != "invalid":  # the client's verdict
        assert time.monotonic() < deadline, "the poll never brought the client's verdict"
        with transaction(sessions) as s:
            delivery.poll_statuses(s, settings)

    after = acme.ok("GET", "/stats", params={"campaign_id": w.cid})
    assert after["connect"]["delivery_backlog"] == 0
    today = after["connect"]["client_verdicts"][-1]
    assert (today["accepted"], today["returned"], today["waiting"]) == (1, 1, 0)
    assert after["by_status"]["valid"] == 1 and after["by_status"]["invalid"] == 3
    assert rollup_keys(sessions, acme.instance_id) == expected_keys(sessions, acme.instance_id)
    # An instance without Connect jobs has no Connect part.
    assert other.ok("GET", "/stats")["connect"] is None


@pytest.mark.usefixtures("peers")
def test_a_client_that_fails_the_status_poll_does_not_hold_up_the_others(
    acme: Api, other: Api, sessions: sessionmaker[Session], database_url: str, settings: Settings
) -> None:
    """The poll asks the least recently checked deliveries first: those of a client that
    answers 503 count as asked, so the next poll comes to the other clients' deliveries."""
    w = Connected(acme, other)
    LeadIntake(sessions, RateLimiter(1000, 60), database_url).run(w.subs(CONNECT_BODIES))
    with transaction(sessions) as s, delivery.Peers(settings) as clients:
        assert delivery.deliver_due(s, w.delivery["id"], settings, clients) == 2
    down = httpx.MockTransport(lambda request: httpx.Response(503))  # the far side, failing
    with transaction(sessions) as s:
        delivery.poll_statuses(s, settings, limit=100_000, transport=down)
    with sessions() as s:
        asked = s.scalars(
            select(Delivery.status_checked_at).where(Delivery.job_id == w.delivery["id"])
        ).all()
    assert len(asked) == 2 and all(at is not None for at in asked)
