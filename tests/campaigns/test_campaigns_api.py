"""Campaigns and their forms through the admin API."""

from __future__ import annotations

from tests.factories import Api


def test_create_read_list_campaign(acme: Api) -> None:
    created = acme.campaign("Solar", [{"name": "email", "type": "email", "required": True}])
    assert created["status"] == "active"
    assert created["fields"] == [
        {"name": "email", "label": "email", "type": "email", "required": True, "options": None}
    ]
    assert acme.ok("GET", f"/campaigns/{created['id']}") == created
    listed = acme.ok("GET", "/campaigns")
    assert [c["id"] for c in listed["items"]] == [created["id"]]
    assert listed["next_cursor"] is None


def test_pause_resume_and_end(acme: Api) -> None:
    cid = acme.campaign()["id"]
    assert acme.ok("PATCH", f"/campaigns/{cid}", json={"status": "paused"})["status"] == "paused"
    assert acme.ok("PATCH", f"/campaigns/{cid}", json={"status": "active"})["status"] == "active"
    r = acme.call("PATCH", f"/campaigns/{cid}", json={"status": "sleeping"})
    assert r.status_code == 422 and r.json()["code"] == "invalid_request"


def test_replace_fields(acme: Api) -> None:
    cid = acme.campaign()["id"]
    out = acme.ok("PUT", f"/campaigns/{cid}/fields", json={"fields": [{"name": "phone"}]})
    assert [f["name"] for f in out["fields"]] == ["phone"]


def test_duplicate_field_names_are_refused_whole(acme: Api) -> None:
    r = acme.call(
        "POST", "/campaigns", json={"name": "X", "fields": [{"name": "a"}, {"name": "a"}]}
    )
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "invalid_request"
    assert "used twice" in r.json()["detail"]
    assert acme.ok("GET", "/campaigns")["items"] == []

    cid = acme.campaign()["id"]
    before = acme.ok("GET", f"/campaigns/{cid}")
    r = acme.call(
        "PUT", f"/campaigns/{cid}/fields", json={"fields": [{"name": "b"}, {"name": "b"}]}
    )
    assert r.status_code == 422
    assert acme.ok("GET", f"/campaigns/{cid}") == before


def test_bad_field_definitions(acme: Api) -> None:
    for bad in (
        {"name": "has space"},
        {"name": "x", "type": "colour"},
        {"name": "c", "type": "select"},
    ):
        r = acme.call("POST", "/campaigns", json={"name": "X", "fields": [bad]})
        assert r.status_code == 422, bad
        assert r.json()["code"] == "invalid_request"


def test_unknown_campaign_is_404(acme: Api) -> None:
    r = acme.call("GET", "/campaigns/999999999")
    assert r.status_code == 404 and r.json()["code"] == "campaign_not_found"
