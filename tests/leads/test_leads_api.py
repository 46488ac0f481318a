"""Submitting and reading leads through the admin API."""

from __future__ import annotations

from tests.factories import Api


def test_submit_and_read_back(acme: Api) -> None:
    cid = acme.campaign()["id"]
    lead = acme.ok(
        "POST",
        f"/campaigns/{cid}/leads",
        201,
        json={"data": {"email": "a@b.example", "employees": 40}},
    )
    assert lead["status"] == "valid"  # a campaign without jobs checks nothing
    assert lead["data"] == {"email": "a@b.example", "employees": 40}
    assert lead["campaign_id"] == cid and lead["publisher_id"] is None
    assert next(h["event"] for h in lead["history"]) == "received"
    assert acme.ok("GET", f"/leads/{lead['id']}")["data"] == lead["data"]


def test_unknown_fields_are_refused_and_nothing_is_stored(acme: Api) -> None:
    cid = acme.campaign()["id"]
    r = acme.call("POST", f"/campaigns/{cid}/leads", json={"data": {"email": "x", "shoeSize": 44}})
    assert r.status_code == 422
    body = r.json()
    assert body["code"] == "unknown_fields" and body["fields"] == ["shoeSize"]
    assert acme.ok("GET", f"/leads?campaign_id={cid}")["items"] == []


def test_nested_values_are_refused(acme: Api) -> None:
    cid = acme.campaign()["id"]
    r = acme.call("POST", f"/campaigns/{cid}/leads", json={"data": {"email": {"a": 1}}})
    assert r.status_code == 422 and r.json()["code"] == "invalid_request"


def test_paused_campaign_refuses_leads(acme: Api) -> None:
    cid = acme.campaign()["id"]
    acme.ok("PATCH", f"/campaigns/{cid}", json={"status": "paused"})
    r = acme.call("POST", f"/campaigns/{cid}/leads", json={"data": {"email": "x"}})
    assert r.status_code == 403 and r.json()["code"] == "campaign_paused"


def test_list_filters_and_paginates_newest_first(acme: Api) -> None:
    c1, c2 = acme.holding_campaign("one")["id"], acme.holding_campaign("two")["id"]
    ids = [
        acme.ok("POST", f"/campaigns/{c1}/leads", 201, json={"data": {"email": f"{i}@x"}})["id"]
        for i in range(5)
    ]
    acme.ok("POST", f"/campaigns/{c2}/leads", 201, json={"data": {"email": "other@x"}})
    page1 = acme.ok("GET", f"/leads?campaign_id={c1}&limit=2")
    page2 = acme.ok("GET", f"/leads?campaign_id={c1}&limit=2&cursor={page1['next_cursor']}")
    page3 = acme.ok("GET", f"/leads?campaign_id={c1}&limit=2&cursor={page2['next_cursor']}")
    seen = [lead["id"] for p in (page1, page2, page3) for lead in p["items"]]
    assert seen == sorted(ids, reverse=True)
    assert page3["next_cursor"] is None
    assert acme.ok("GET", "/leads?status=valid")["items"] == []
    r = acme.call("GET", "/leads?status=great")
    assert r.status_code == 422
    r = acme.call("GET", "/leads?cursor=not-a-cursor")
    assert r.status_code == 422 and r.json()["code"] == "invalid_request"


def test_mark_valid_and_invalid_is_recorded(acme: Api) -> None:
    cid = acme.holding_campaign()["id"]
    lead = acme.ok("POST", f"/campaigns/{cid}/leads", 201, json={"data": {"email": "a@b"}})
    out = acme.ok(
        "POST",
        f"/leads/{lead['id']}/invalidate",
        json={"reason": "wrong number", "user": "kim@acme"},
    )
    assert out["status"] == "invalid"
    change = out["history"][-1]
    assert change["event"] == "status_changed"
    assert change["detail"]["reason"] == "wrong number" and change["detail"]["user"] == "kim@acme"
    assert change["detail"]["from"] == "pending" and change["detail"]["to"] == "invalid"
    assert (
        acme.ok(
            "POST",
            f"/leads/{lead['id']}/validate",
            json={"reason": "called back", "user": "kim@acme"},
        )["status"]
        == "valid"
    )
    r = acme.call("POST", f"/leads/{lead['id']}/validate", json={"user": "kim"})
    assert r.status_code == 422
