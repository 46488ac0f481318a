"""Reason categories and `POST /leads/bulk-status`: all or nothing, one history entry and one
`lead.status_changed` per lead (queued in the same transaction), keys re-stated, and leads
marked valid sent on to the integration jobs (a Connect lead reaches the client)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from leadgate.db import transaction
from leadgate.delivery import service as delivery
from leadgate.delivery.models import Delivery
from leadgate.webhooks.models import WebhookMessage
from tests.factories import Api, Connected

FIELDS = [{"name": "company"}, {"name": "email"}]


def held(api: Api) -> int:
    """A campaign whose leads are `caution`: one check of 10 passes, one of 2 fails."""
    cid = api.campaign("Held", FIELDS)["id"]
    for field, score in (("company", 10), ("email", 2)):
        api.ok(
            "POST",
            f"/campaigns/{cid}/jobs",
            201,
            json={"type": "required_fields", "score": score, "config": {"fields": [field]}},
        )
    return int(cid)


def publisher_leads(api: Api, cid: int, n: int) -> tuple[dict[str, Any], str, list[int]]:
    pub, key = api.publisher("Affiliate")
    api.ok("PUT", f"/campaigns/{cid}/publishers/{pub['id']}", 204)
    ids = []
    for i in range(n):
        lead = api.ok(
            "POST",
            f"/publisher/campaigns/{cid}/leads",
            201,
            secret=key["key"],
            json={"data": {"company": f"Co {i}"}},
        )
        assert lead["status"] == "caution"
        ids.append(lead["id"])
    return pub, key["key"], ids


def test_reasons_start_with_none_and_are_edited_by_admins(acme: Api) -> None:
    assert [r["name"] for r in acme.ok("GET", "/reasons")["items"]] == ["None"]
    added = acme.ok("POST", "/reasons", 201, json={"name": "  Returned:  wrong contact "})
    assert added["name"] == "Returned: wrong contact"
    r = acme.call("POST", "/reasons", json={"name": "returned: WRONG contact"})
    assert r.status_code == 409 and r.json()["code"] == "reason_exists"
    renamed = acme.ok("PATCH", f"/reasons/{added['id']}", json={"name": "Returned: bad phone"})
    assert renamed == {"id": added["id"], "name": "Returned: bad phone"}
    first = acme.ok("GET", "/reasons")["items"][0]
    acme.ok("DELETE", f"/reasons/{first['id']}", 204)
    r = acme.call("DELETE", f"/reasons/{added['id']}")
    assert r.status_code == 409 and r.json()["code"] == "reason_last"
    assert acme.ok("GET", "/reasons")["items"] == [renamed]
    r = acme.call("POST", "/reasons", json={"name": "   "})
    assert r.status_code == 422 and r.json()["code"] == "invalid_request"


def test_bulk_by_ids_writes_history_events_and_keys_in_one_go(
    acme: Api, sessions: sessionmaker[Session]
) -> None:
    cid = held(acme)
    acme.ok("POST", "/reasons", 201, json={"name": "Returned: wrong contact"})
    _, key, ids = publisher_leads(acme, cid, 3)
    hook = acme.ok(
        "POST",
        "/publisher/webhooks",
        201,
        secret=key,
        json={"url": "http://127.0.0.1:9/hook", "events": ["lead.status_changed"]},
    )
    body = {
        "lead_ids": [ids[0], ids[2], ids[0]],
        "status": "invalid",
        "reason": "returned: wrong CONTACT",
        "comment": "the phone is a fax",
        "user": "kim@acme.example",
    }
    out = acme.ok("POST", "/leads/bulk-status", json=body)
    assert out["count"] == 2 and out["events"] == 2 and out["reason"] == "Returned: wrong contact"
    assert out["items"] == [
        {"id": ids[0], "previous": "caution", "status": "invalid"},
        {"id": ids[2], "previous": "caution", "status": "invalid"},
    ]
    for lead_id, status in ((ids[0], "invalid"), (ids[1], "caution"), (ids[2], "invalid")):
        lead = acme.ok("GET", f"/leads/{lead_id}")
        assert lead["status"] == status
        changes = [h["detail"] for h in lead["history"] if h["detail"].get("by") == "user"]
        if status == "invalid":
            assert changes == [
                {
                    "from": "caution",
                    "to": "invalid",
                    "reason": "Returned: wrong contact",
                    "comment": "the phone is a fax",
                    "user": "kim@acme.example",
                    "by": "user",
                }
            ]
        else:
            assert changes == []
    with sessions() as s:
        messages = s.scalars(
            select(WebhookMessage).where(WebhookMessage.subscription_id == hook["id"])
        ).all()
        queued = s.execute(
            text(
                "SELECT args->>'message_id' FROM procrastinate_jobs "
                "WHERE task_name = 'leadgate.deliver_webhook' AND status = 'todo'"
            )
        ).scalars()
        queued_ids = {int(i) for i in queued}
    assert len(messages) == 2 and {m.id for m in messages} <= queued_ids
    datas = sorted((json.loads(m.body)["data"] for m in messages), key=lambda d: d["lead_id"])
    assert datas == [
        {
            "lead_id": i,
            "status": "invalid",
            "reason": "Returned: wrong contact: the phone is a fax",
            "user": "kim@acme.example",
        }
        for i in (ids[0], ids[2])
    ]
    assert all(json.loads(m.body)["type"] == "lead.status_changed" for m in messages)
    # The publisher sees the new status of its own lead.
    seen = acme.ok("GET", f"/publisher/leads/{ids[0]}", secret=key)
    assert seen["status"] == "invalid"


def test_bulk_by_filter_and_the_user_defaults_to_the_token(acme: Api) -> None:
    cid = held(acme)
    _, _, ids = publisher_leads(acme, cid, 3)
    other_cid = held(acme)
    _, _, others = publisher_leads(acme, other_cid, 1)
    out = acme.ok(
        "POST",
        "/leads/bulk-status",
        json={
            "filter": {"campaign_id": cid, "status": "caution"},
            "status": "test",
            "reason": "None",
        },
    )
    assert [i["id"] for i in out["items"]] == ids and out["events"] == 0
    assert acme.ok("GET", f"/leads/{others[0]}")["status"] == "caution"
    entry = acme.ok("GET", f"/leads/{ids[1]}")["history"][-1]
    assert entry["detail"]["user"].startswith("API token") and entry["detail"]["to"] == "test"
    # A filter on dates and a list of statuses.
    out = acme.ok(
        "POST",
        "/leads/bulk-status",
        json={
            "filter": {"campaign_id": cid, "status": ["test", "valid"], "from": "2000-01-01"},
            "status": "caution",
            "reason": "None",
        },
    )
    assert out["count"] == 3


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"reason": "Nope"}, 422, "unknown_reason"),
        ({"status": "pending"}, 422, "invalid_request"),
        ({"lead_ids": None}, 422, "invalid_request"),  # neither ids nor filter
        ({"filter": {"campaign_id": 1}}, 422, "invalid_request"),  # both
        ({"lead_ids": []}, 422, "invalid_request"),
        ({"comment": "x" * 2001}, 422, "invalid_request"),
    ],
)
def test_bad_requests_change_nothing(
    acme: Api, change: dict[str, Any], status: int, code: str
) -> None:
    cid = held(acme)
    _, _, ids = publisher_leads(acme, cid, 1)
    body = {"lead_ids": ids, "status": "invalid", "reason": "None", **change}
    r = acme.call("POST", "/leads/bulk-status", json=body)
    assert r.status_code == status and r.json()["code"] == code, r.text
    assert acme.ok("GET", f"/leads/{ids[0]}")["status"] == "caution"


def test_unknown_and_foreign_ids_are_named_and_nothing_changes(acme: Api, other: Api) -> None:
    cid = held(acme)
    _, _, ids = publisher_leads(acme, cid, 2)
    theirs = publisher_leads(other, held(other), 1)[2]
    body = {"lead_ids": [*ids, theirs[0], 2**62], "status": "valid", "reason": "None"}
    r = acme.call("POST", "/leads/bulk-status", json=body)
    assert r.status_code == 404
    problem = r.json()
    assert problem["code"] == "lead_not_found" and problem["lead_ids"] == [theirs[0], 2**62]
    assert str(theirs[0]) in problem["detail"]
    assert [acme.ok("GET", f"/leads/{i}")["status"] for i in ids] == ["caution", "caution"]
    assert other.ok("GET", f"/leads/{theirs[0]}")["status"] == "caution"
    # A filter never reaches another instance's leads.
    out = other.ok(
        "POST",
        "/leads/bulk-status",
        json={"filter": {"campaign_id": cid}, "status": "valid", "reason": "None"},
    )
    assert out["count"] == 0


def test_too_many_leads_for_a_filter(acme: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    from leadgate.review import service

    cid = held(acme)
    publisher_leads(acme, cid, 3)
    monkeypatch.setattr(service, "MAX_BULK", 2)
    body = {"filter": {"campaign_id": cid}, "status": "valid", "reason": "None"}
    r = acme.call("POST", "/leads/bulk-status", json=body)
    assert r.status_code == 422 and r.json()["code"] == "too_many_leads"


@pytest.mark.usefixtures("peers")
def test_marking_valid_delivers_a_connect_lead(
    acme: Api, other: Api, sessions: sessionmaker[Session]
) -> None:
    w = Connected(acme, other)
    # A soft check besides the client's mirrored one: a lead without an email is `caution`.
    acme.ok(
        "POST",
        f"/campaigns/{w.cid}/jobs",
        201,
        json={"type": "required_fields", "score": 2, "config": {"fields": ["workEmail"]}},
    )
    lead = acme.ok("POST", f"/campaigns/{w.cid}/leads", 201, json={"data": {"companyName": "Acme"}})
    assert lead["status"] == "caution" and lead["deliveries"] == []
    out = acme.ok(
        "POST",
        "/leads/bulk-status",
        json={"lead_ids": [lead["id"]], "status": "valid", "reason": "None"},
    )
    assert out["count"] == 1
    with sessions() as s:
        rows = s.scalars(select(Delivery).where(Delivery.lead_id == lead["id"])).all()
        drains = s.execute(
            text("SELECT count(*) FROM procrastinate_jobs WHERE queueing_lock = :lock"),
            {"lock": f"drain-{w.delivery['id']}"},
        ).scalar_one()
    assert [(d.job_id, d.state) for d in rows] == [(w.delivery["id"], "queued")]
    assert drains >= 1
    settings = acme.client.app.state.settings  # type: ignore[attr-defined]
    with transaction(sessions) as session:
        assert delivery.deliver(session, rows[0].id, settings) == "delivered"
    ours = acme.ok("GET", f"/leads/{lead['id']}")
    assert ours["deliveries"][0]["state"] == "delivered"
    client_lead = other.ok("GET", f"/leads/{ours['deliveries'][0]['client_lead_id']}")
    assert client_lead["data"]["company"] == "Acme"
    # Marked valid again: no second delivery.
    acme.ok(
        "POST",
        "/leads/bulk-status",
        json={"lead_ids": [lead["id"]], "status": "valid", "reason": "None"},
    )
    with sessions() as s:
        assert len(s.scalars(select(Delivery).where(Delivery.lead_id == lead["id"])).all()) == 1


@pytest.mark.usefixtures("peers")
def test_the_single_validate_route_queues_the_delivery_too(
    acme: Api, other: Api, sessions: sessionmaker[Session]
) -> None:
    w = Connected(acme, other)
    acme.ok(
        "POST",
        f"/campaigns/{w.cid}/jobs",
        201,
        json={"type": "required_fields", "score": 2, "config": {"fields": ["workEmail"]}},
    )
    lead = acme.ok(
        "POST", f"/campaigns/{w.cid}/leads", 201, json={"data": {"companyName": "Globex"}}
    )
    assert lead["status"] == "caution"
    body = {"reason": "checked by phone", "user": "kim"}
    out = acme.ok("POST", f"/leads/{lead['id']}/validate", json=body)
    assert out["status"] == "valid" and [d["state"] for d in out["deliveries"]] == ["queued"]
    acme.ok("POST", f"/leads/{lead['id']}/invalidate", json=body)
    with sessions() as s:
        assert len(s.scalars(select(Delivery).where(Delivery.lead_id == lead["id"])).all()) == 1
