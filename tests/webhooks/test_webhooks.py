"""Signed webhooks: enqueued with the change, delivered by the worker, retried, ended by 410."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from leadgate.worker.runner import run_worker
from tests import receiver
from tests.factories import Api
from tests.portal.test_publisher_api import Setup


@pytest.fixture
def hook() -> Iterator[receiver.Receiver]:
    r = receiver.start()
    yield r
    r.close()


def drain(database_url: str) -> None:
    asyncio.run(run_worker(database_url, concurrency=2, wait=False))


def subscribe(s: Setup, url: str, events: list[str]) -> dict[str, Any]:
    r = s.pub_call("POST", "/webhooks", json={"url": url, "events": events})
    assert r.status_code == 201, r.text
    sub: dict[str, Any] = r.json()
    return sub


def events_of(hook: receiver.Receiver, secret: str) -> list[dict[str, Any]]:
    out = []
    for req in hook.requests:
        out.append(Webhook(secret).verify(req.body, req.headers))
    return out


def test_urls_outside_the_template_are_refused(acme: Api) -> None:
    s = Setup(acme)
    for url in (
        "http://10.0.0.1/hook",
        "ftp://127.0.0.1:8000/i/x",
        "http://evil.example/i/acme",
        "http://user@127.0.0.1:8000/i/acme",
    ):
        r = s.pub_call("POST", "/webhooks", json={"url": url, "events": ["job.updated"]})
        assert r.status_code == 422 and r.json()["code"] == "webhook_url_not_allowed", url
    ok = s.pub_call(
        "POST",
        "/webhooks",
        json={"url": "http://127.0.0.1:8000/i/leadco/hooks", "events": ["job.updated"]},
    )
    assert ok.status_code == 201 and ok.json()["secret"].startswith("whsec_")
    listed = s.pub_call("GET", "/webhooks").json()["items"]
    assert listed == [
        {
            "id": ok.json()["id"],
            "url": "http://127.0.0.1:8000/i/leadco/hooks",
            "events": ["job.updated"],
            "active": True,
            "end_reason": None,
        }
    ]
    assert "secret" not in json.dumps(listed)
    assert s.pub_call("DELETE", f"/webhooks/{ok.json()['id']}").status_code == 204
    assert s.pub_call("GET", "/webhooks").json()["items"] == []


def test_job_changes_send_signed_events(
    acme: Api, hook: receiver.Receiver, database_url: str
) -> None:
    s = Setup(acme)
    sub = subscribe(s, hook.url + "/events", ["job.updated", "job.deleted"])
    acme.ok("PATCH", f"/lists/{s.list['id']}/values", json={"add": ["initech"]})
    acme.ok(
        "PATCH",
        f"/campaigns/{s.cid}/jobs/{s.cond_job['id']}",
        json={"config": {"field_name": "country", "operator": "EQUAL", "values": ["US"]}},
    )
    acme.ok(
        "PATCH",
        f"/campaigns/{s.cid}/jobs/{s.cond_job['id']}",
        json={"visible_to_publishers": False},
    )
    acme.ok(
        "PATCH", f"/campaigns/{s.cid}/jobs/{s.private['id']}", json={"score": 5}
    )  # invisible: silent
    acme.ok("DELETE", f"/campaigns/{s.cid}/jobs/{s.list_job['id']}", 204)
    drain(database_url)
    got = sorted(json.dumps([e["type"], e["data"]]) for e in events_of(hook, sub["secret"]))
    expected = [
        [
            "job.updated",
            {"campaign_id": s.cid, "job_id": s.list_job["id"], "version": 1, "list_version": 2},
        ],
        [
            "job.updated",
            {"campaign_id": s.cid, "job_id": s.cond_job["id"], "version": 2, "list_version": None},
        ],
        ["job.deleted", {"campaign_id": s.cid, "job_id": s.cond_job["id"]}],
        ["job.deleted", {"campaign_id": s.cid, "job_id": s.list_job["id"]}],
    ]
    # Deliveries run concurrently, so the order of arrival is not fixed.
    assert got == sorted(json.dumps(e) for e in expected)
    assert all(r.path == "/events" for r in hook.requests)
    # A tampered body fails verification.
    req = hook.requests[0]
    with pytest.raises(WebhookVerificationError):
        Webhook(sub["secret"]).verify(req.body.replace(b"job", b"jab"), req.headers)


def test_revoking_the_grant_sends_job_deleted(
    acme: Api, hook: receiver.Receiver, database_url: str
) -> None:
    s = Setup(acme)
    sub = subscribe(s, hook.url, ["job.deleted", "job.updated"])
    acme.ok("DELETE", f"/campaigns/{s.cid}/publishers/{s.pub['id']}", 204)
    drain(database_url)
    got = sorted(
        e["data"]["job_id"] for e in events_of(hook, sub["secret"]) if e["type"] == "job.deleted"
    )
    assert got == sorted([s.list_job["id"], s.cond_job["id"]])


def test_status_change_reaches_the_submitting_publisher(
    acme: Api, hook: receiver.Receiver, database_url: str
) -> None:
    s = Setup(acme)
    sub = subscribe(s, hook.url, ["lead.status_changed"])
    lead = s.pub_call(
        "POST", f"/campaigns/{s.cid}/leads", json={"data": {"company": "acme"}}
    ).json()
    acme.ok("POST", f"/leads/{lead['id']}/invalidate", json={"reason": "duplicate", "user": "kim"})
    drain(database_url)
    (event,) = events_of(hook, sub["secret"])
    assert event["type"] == "lead.status_changed"
    assert event["data"] == {
        "lead_id": lead["id"],
        "status": "invalid",
        "reason": "duplicate",
        "user": "kim",
    }


def test_retry_then_delivered_and_410_ends(
    acme: Api, hook: receiver.Receiver, database_url: str, sessions: sessionmaker[Session]
) -> None:
    s = Setup(acme)
    sub = subscribe(s, hook.url, ["job.updated"])
    hook.script.extend([500])
    acme.ok("PATCH", f"/lists/{s.list['id']}/values", json={"add": ["one"]})
    drain(database_url)
    with sessions() as db:
        msg = db.execute(
            text(
                "SELECT id, state, attempts, last_error FROM webhook_messages "
                "WHERE subscription_id = :s"
            ),
            {"s": sub["id"]},
        ).one()
        assert (msg.state, msg.attempts, msg.last_error) == ("pending", 1, "HTTP 500")
        # The retry is scheduled in the future; make it due now.
        n = db.execute(
            text(
                "UPDATE procrastinate_jobs SET scheduled_at = now() WHERE status = 'todo' "
                "AND task_name = 'leadgate.deliver_webhook' AND (args->>'message_id')::int = :m"
            ),
            {"m": msg.id},
        ).rowcount  # type: ignore[attr-defined]
        db.commit()
        assert n == 1
    drain(database_url)
    with sessions() as db:
        msg = db.execute(
            text("SELECT state, attempts FROM webhook_messages WHERE id = :m"), {"m": msg.id}
        ).one()
        assert tuple(msg) == ("delivered", 2)
        attempts = (
            db.execute(
                text(
                    "SELECT status_code FROM webhook_attempts WHERE message_id = "
                    "(SELECT id FROM webhook_messages WHERE subscription_id = :s) ORDER BY id"
                ),
                {"s": sub["id"]},
            )
            .scalars()
            .all()
        )
        assert attempts == [500, 204]
    # All attempts carried the same webhook-id: the receiver can drop duplicates.
    assert len({r.headers["webhook-id"] for r in hook.requests}) == 1

    hook.script.extend([410])
    acme.ok("PATCH", f"/lists/{s.list['id']}/values", json={"add": ["two"]})
    drain(database_url)
    listed = s.pub_call("GET", "/webhooks").json()["items"]
    assert listed[0]["active"] is False and "410" in listed[0]["end_reason"]
    acme.ok("PATCH", f"/lists/{s.list['id']}/values", json={"add": ["three"]})
    drain(database_url)
    assert len(hook.requests) == 3  # nothing sent after the 410


TEMPLATE = "http://127.0.0.1:8000/i/{subdomain}"


def test_urls_are_checked_as_they_will_be_requested() -> None:
    """Normalised first (dot segments removed), matched whole, and never one httpx would refuse
    to send (issue 16: `/i/acme/../../../x` was accepted and called `/x`; `/i/acme\\n` was
    accepted and its messages stayed pending for ever)."""
    from leadgate.webhooks import urls

    for url in (
        "http://127.0.0.1:8000/i/acme/../../../x",
        "http://127.0.0.1:8000/i/acme/../../admin/i/acme",
        "http://127.0.0.1:8000/i/acme/%2e%2e/%2E%2E/x",
        "http://127.0.0.1:8000/i/acme\n",
        "http://127.0.0.1:8000/i/acme/hooks\r\nX-Injected: 1",
        "http://127.0.0.1:8000/i/acme/ok\t",
        "http://127.0.0.1:99999999/i/acme",
        "http://[::1/i/acme",
        "http://127.0.0.1:8000/i/acme?x=1",
        "http://127.0.0.1:8000\\@evil.example/i/acme",
        "http://127.0.0.1:8000/i/acme.evil.example",
    ):
        assert not urls.allowed(url, TEMPLATE, []), url
    assert urls.normalised("HTTP://127.0.0.1:8000/i/acme/./a/../hooks") == (
        "http://127.0.0.1:8000/i/acme/hooks"
    )
    for url in ("http://127.0.0.1:8000/i/acme", "http://127.0.0.1:8000/i/acme/a/./b"):
        assert urls.allowed(url, TEMPLATE, []), url
    # An allowed prefix is matched against the normalised URL too.
    assert not urls.allowed("http://10.0.0.1/hooks/../admin", TEMPLATE, ["http://10.0.0.1/hooks/"])


def test_subscribing_normalises_and_refuses_what_cannot_be_called(
    acme: Api, app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app.state.settings, "webhook_allow", [])
    s = Setup(acme)
    for url in ("http://127.0.0.1:8000/i/acme/../../../x", "http://127.0.0.1:8000/i/acme\n"):
        r = s.pub_call("POST", "/webhooks", json={"url": url, "events": ["job.updated"]})
        assert r.status_code == 422 and r.json()["code"] == "webhook_url_not_allowed", url
    r = s.pub_call(
        "POST",
        "/webhooks",
        json={"url": "http://127.0.0.1:8000/i/leadco/x/../hooks", "events": ["job.updated"]},
    )
    assert r.status_code == 201, r.text
    (listed,) = s.pub_call("GET", "/webhooks").json()["items"]
    assert listed["url"] == "http://127.0.0.1:8000/i/leadco/hooks"


def test_a_stored_url_that_cannot_be_called_ends_dead_not_pending(
    acme: Api, hook: receiver.Receiver, database_url: str, sessions: sessionmaker[Session]
) -> None:
    s = Setup(acme)
    sub = subscribe(s, hook.url, ["job.updated"])
    with sessions() as db:  # as stored before URLs were checked the way httpx sends them
        db.execute(
            text("UPDATE webhook_subscriptions SET url = :u WHERE id = :s"),
            {"u": "http://127.0.0.1:8000/i/acme\n", "s": sub["id"]},
        )
        db.commit()
    acme.ok("PATCH", f"/lists/{s.list['id']}/values", json={"add": ["one"]})
    drain(database_url)
    with sessions() as db:
        msg = db.execute(
            text(
                "SELECT state, attempts, last_error FROM webhook_messages "
                "WHERE subscription_id = :s"
            ),
            {"s": sub["id"]},
        ).one()
    assert (msg.state, msg.attempts) == ("dead", 1)
    assert "cannot be called" in msg.last_error
    assert hook.requests == []
