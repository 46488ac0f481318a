"""Delivery loops: a delivery job never targets its own instance, and a lead carries its delivery
path, so two instances that deliver to each other stop after one round.

The client is another instance of the same app: the peer client's calls are routed into the app
in process (`peers`); the deliveries are sent by calling the drain's own function.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from leadgate.db import transaction
from leadgate.delivery import service as delivery
from leadgate.delivery.models import Delivery, DeliveryConnection
from leadgate.peer import client as peer_client
from tests.conftest import AppTransport
from tests.factories import Api

FORM = [{"name": "company", "required": True}, {"name": "email"}]
SAME = {"company": "company", "email": "email"}


class Side:
    """One instance's campaign that takes leads from the other's key and delivers to it."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.campaign = api.campaign("Leads", FORM)
        pub, key = api.publisher("The other instance")
        api.ok("PUT", f"/campaigns/{self.campaign['id']}/publishers/{pub['id']}", 204)
        self.key: str = key["key"]
        self.job: dict[str, Any] = {}

    def deliver_to(self, other: Side) -> None:
        self.job = self.api.ok(
            "POST",
            f"/campaigns/{self.campaign['id']}/jobs",
            201,
            json={
                "type": "connect_delivery",
                "config": {
                    "API_Key": other.key,
                    "Subdomain": other.api.subdomain,
                    "Campaign": other.campaign["id"],
                    "Field_mapping": SAME,
                },
            },
        )

    def leads(self) -> list[dict[str, Any]]:
        page = self.api.ok("GET", f"/leads?campaign_id={self.campaign['id']}")
        items: list[dict[str, Any]] = page["items"]
        return items

    def deliveries(self, sessions: sessionmaker[Session]) -> list[Delivery]:
        with sessions() as session:
            return list(
                session.scalars(
                    select(Delivery).where(Delivery.job_id == self.job["id"]).order_by(Delivery.id)
                )
            )


def _deliver(sessions: sessionmaker[Session], app: FastAPI, delivery_id: int) -> str:
    with transaction(sessions) as session:
        return delivery.deliver(session, delivery_id, app.state.settings)


def test_a_delivery_job_into_its_own_instance_is_refused(acme: Api, peers: AppTransport) -> None:
    ours = Side(acme)
    elsewhere = acme.campaign("Another campaign", FORM)
    for campaign_id in (ours.campaign["id"], elsewhere["id"]):
        r = acme.call(
            "POST",
            f"/campaigns/{ours.campaign['id']}/jobs",
            json={
                "type": "connect_delivery",
                "config": {
                    "API_Key": ours.key,
                    "Subdomain": acme.subdomain,
                    "Campaign": campaign_id,
                    "Field_mapping": SAME,
                },
            },
        )
        assert r.status_code == 422, r.text
        problem = r.json()
        assert problem["code"] == "delivery_loop"
        assert problem["errors"][0]["loc"] == ["config", "Subdomain"]
        assert f"The subdomain {acme.subdomain} is this instance's own" in problem["detail"]
    assert acme.ok("GET", f"/campaigns/{ours.campaign['id']}/jobs")["items"] == []


def test_two_instances_delivering_to_each_other_stop_after_one_round(
    acme: Api,
    other: Api,
    peers: AppTransport,
    app: FastAPI,
    sessions: sessionmaker[Session],
) -> None:
    a, b = Side(acme), Side(other)
    a.deliver_to(b)
    b.deliver_to(a)
    acme.ok("POST", f"/campaigns/{a.campaign['id']}/leads", 201, json={"data": {"company": "X"}})

    (there,) = a.deliveries(sessions)
    assert _deliver(sessions, app, there.id) == "delivered"
    (received,) = b.leads()
    history = other.ok("GET", f"/leads/{received['id']}")["history"]
    assert history[0]["event"] == "received"
    assert history[0]["detail"]["hops"] == [acme.subdomain]

    # b delivers it on, back to a, with the path [a, b]: a refuses it for good.
    (back,) = b.deliveries(sessions)
    assert _deliver(sessions, app, back.id) == "dead"
    (refused,) = b.deliveries(sessions)
    assert refused.attempts == 1 and refused.last_error is not None
    assert "already passed through" in refused.last_error
    assert len(a.leads()) == 1 and len(b.leads()) == 1
    with sessions() as session:
        conn = session.get(DeliveryConnection, b.job["id"])
        assert conn is not None and conn.state == "open" and conn.consecutive_failures == 0
    assert any(
        h["event"] == "delivery_failed"
        for h in other.ok("GET", f"/leads/{received['id']}")["history"]
    )


def test_the_path_travels_with_single_posts_too(
    acme: Api,
    other: Api,
    peers: AppTransport,
    app: FastAPI,
    sessions: sessionmaker[Session],
) -> None:
    """A peer without the batch endpoint gets single posts, which carry the path as well."""
    a, b = Side(acme), Side(other)
    a.deliver_to(b)
    b.deliver_to(a)
    acme.ok("POST", f"/campaigns/{a.campaign['id']}/leads", 201, json={"data": {"company": "X"}})
    for base in (acme.subdomain, other.subdomain):
        peer_client._NO_BATCH.add(f"http://127.0.0.1:8000/i/{base}/api/v1/publisher")
    try:
        (there,) = a.deliveries(sessions)
        assert _deliver(sessions, app, there.id) == "delivered"
        (back,) = b.deliveries(sessions)
        assert _deliver(sessions, app, back.id) == "dead"
    finally:
        peer_client._NO_BATCH.clear()
    assert ("POST", f"/i/{acme.subdomain}/api/v1/publisher/campaigns/{a.campaign['id']}/leads") in (
        peers.seen
    )
    assert len(a.leads()) == 1 and len(b.leads()) == 1
