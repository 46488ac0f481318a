"""The audit log (issue 16): who changed a job, a list, a key, a grant, a user, an API token,
when and from where, written in the change's own transaction, visible to the instance's
admins only (API and page)."""

from __future__ import annotations

from typing import Any

from tests.factories import Api


def events_of(api: Api, **query: str) -> list[dict[str, Any]]:
    params = "&".join(f"{k}={v}" for k, v in query.items())
    return list(api.ok("GET", "/audit" + (f"?{params}" if params else ""))["items"])


def test_every_kind_of_change_is_logged_with_who_and_from_where(acme: Api, other: Api) -> None:
    cid = acme.campaign()["id"]
    pub, key = acme.publisher("LeadCo")
    acme.ok("PUT", f"/campaigns/{cid}/publishers/{pub['id']}", 204)
    acme.ok("DELETE", f"/campaigns/{cid}/publishers/{pub['id']}", 204)
    acme.ok("DELETE", f"/publishers/{pub['id']}/api-keys/{key['id']}", 204)
    lst = acme.ok("POST", "/lists", 201, json={"name": "Targets", "values": ["Acme"]})
    acme.ok("PATCH", f"/lists/{lst['id']}/values", json={"add": ["Globex"], "remove": ["Acme"]})
    job = acme.ok(
        "POST",
        f"/campaigns/{cid}/jobs",
        201,
        json={"type": "required_fields", "label": "Email", "config": {"fields": ["email"]}},
    )
    acme.ok("PATCH", f"/campaigns/{cid}/jobs/{job['id']}", json={"score": 5})
    acme.ok("DELETE", f"/campaigns/{cid}/jobs/{job['id']}", 204)
    acme.ok("DELETE", f"/lists/{lst['id']}", 204)

    events = events_of(acme)
    assert [e["action"] for e in events] == [
        "list.deleted",
        "job.deleted",
        "job.updated",
        "job.created",
        "list.values_changed",
        "list.created",
        "key.revoked",
        "grant.removed",
        "grant.added",
        "key.issued",
        "user.created",  # the instance's first admin, made with the instance
    ]
    assert events[-1]["actor"] == "leadgate" and events[-1]["address"] == ""
    events = events[:-1]
    assert {e["actor"] for e in events} == {events[0]["actor"]}
    assert events[0]["actor"].startswith("API token “") and events[0]["address"] == "testclient"
    assert events[1]["target"] == f"job {job['id']} “Email” of campaign {cid}"
    assert events[2]["detail"] == {"changed": ["score"]}
    assert events[4]["detail"] == {"added": 1, "removed": 1}
    assert [e["action"] for e in events_of(acme, action="job.")] == [
        "job.deleted",
        "job.updated",
        "job.created",
    ]
    assert [e["action"] for e in events_of(other)] == ["user.created"]  # none of acme's


def test_a_refused_change_leaves_no_entry(acme: Api) -> None:
    cid = acme.campaign()["id"]
    r = acme.call("POST", f"/campaigns/{cid}/jobs", json={"type": "required_fields", "config": {}})
    assert r.status_code == 422
    assert events_of(acme, action="job.") == []
