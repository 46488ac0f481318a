"""The Publisher API of CONTRACT.md: visible jobs, ETags, deltas, idempotent leads, rate limits."""

from __future__ import annotations

import gzip
import json
from typing import Any

from fastapi.testclient import TestClient

from leadgate.app import create_app
from leadgate.config import Settings
from tests.factories import Api


class Setup:
    def __init__(self, acme: Api) -> None:
        self.acme = acme
        self.pub, key = acme.publisher("LeadCo")
        self.key = key["key"]
        self.cid = acme.campaign("Granted")["id"]
        acme.ok("PUT", f"/campaigns/{self.cid}/publishers/{self.pub['id']}", 204)
        self.list = acme.ok(
            "POST", "/lists", 201, json={"name": "Target Accounts", "values": ["acme", "globex"]}
        )
        self.list_job = self.job(
            "validation_list",
            {
                "list_id": self.list["id"],
                "field_name": "company",
                "operator": "equal",
                "rule": "pass",
            },
            visible=True,
        )
        self.cond_job = self.job(
            "simple_conditional_validation",
            {"field_name": "country", "operator": "EQUAL", "values": ["US", "GB"]},
            visible=True,
        )
        self.hidden = self.job("required_fields", {"fields": ["email"]}, visible=True)
        self.private = self.job(
            "simple_conditional_validation",
            {"field_name": "email", "operator": "CONTAINS", "values": ["@"]},
            visible=False,
        )

    def job(self, type_: str, config: dict[str, Any], visible: bool) -> dict[str, Any]:
        job: dict[str, Any] = self.acme.ok(
            "POST",
            f"/campaigns/{self.cid}/jobs",
            201,
            json={"type": type_, "config": config, "visible_to_publishers": visible},
        )
        return job

    def pub_call(self, method: str, path: str, **kw: Any) -> Any:
        return self.acme.call(method, "/publisher" + path, secret=self.key, **kw)


def test_visible_jobs_only(acme: Api) -> None:
    s = Setup(acme)
    items = s.pub_call("GET", f"/campaigns/{s.cid}/jobs").json()["items"]
    assert [j["id"] for j in items] == [s.list_job["id"], s.cond_job["id"]]
    assert items[0] == {
        "id": s.list_job["id"],
        "type": "validation_list",
        "label": "Validation List",
        "field_name": "company",
        "operator": "equal",
        "rule": "pass",
        "case_sensitive": False,
        "version": 1,
    } | {"label": items[0]["label"]}
    only = s.pub_call("GET", f"/campaigns/{s.cid}/jobs?type=simple_conditional_validation").json()
    assert [j["id"] for j in only["items"]] == [s.cond_job["id"]]
    for job in (s.hidden, s.private):
        r = s.pub_call("GET", f"/campaigns/{s.cid}/jobs/{job['id']}")
        assert r.status_code == 404 and r.json()["code"] == "job_gone"


def test_definition_etag_and_gone(acme: Api) -> None:
    s = Setup(acme)
    path = f"/campaigns/{s.cid}/jobs/{s.list_job['id']}"
    r = s.pub_call("GET", path)
    assert r.status_code == 200
    d = r.json()
    assert d["list"] == {"name": "Target Accounts", "version": 1, "value_count": 2}
    assert d["trim"] is True and d["values"] is None
    tag = r.headers["etag"]
    assert s.pub_call("GET", path, headers={"If-None-Match": tag}).status_code == 304
    acme.ok("PATCH", f"/lists/{s.list['id']}/values", json={"add": ["initech"]})
    r2 = s.pub_call("GET", path, headers={"If-None-Match": tag})
    assert r2.status_code == 200 and r2.headers["etag"] != tag and r2.json()["list"]["version"] == 2
    cond = s.pub_call("GET", f"/campaigns/{s.cid}/jobs/{s.cond_job['id']}").json()
    assert (
        cond["values"] == ["US", "GB"]
        and cond["operator"] == "EQUAL"
        and cond["case_sensitive"] is True
    )

    acme.ok(
        "PATCH",
        f"/campaigns/{s.cid}/jobs/{s.list_job['id']}",
        json={"visible_to_publishers": False},
    )
    r = s.pub_call("GET", path)
    assert r.status_code == 404 and r.json()["code"] == "job_gone"
    acme.ok(
        "PATCH", f"/campaigns/{s.cid}/jobs/{s.list_job['id']}", json={"visible_to_publishers": True}
    )
    assert s.pub_call("GET", path).status_code == 200
    acme.ok("DELETE", f"/campaigns/{s.cid}/publishers/{s.pub['id']}", 204)
    r = s.pub_call("GET", path)
    assert r.status_code == 404 and r.json()["code"] == "campaign_not_found"
    acme.ok("PUT", f"/campaigns/{s.cid}/publishers/{s.pub['id']}", 204)
    acme.ok("DELETE", f"/campaigns/{s.cid}/jobs/{s.list_job['id']}", 204)
    r = s.pub_call("GET", path)
    assert r.status_code == 404 and r.json()["code"] == "job_gone"


def test_values_delta_and_full(acme: Api) -> None:
    s = Setup(acme)
    path = f"/campaigns/{s.cid}/jobs/{s.list_job['id']}/values"
    full = s.pub_call("GET", path).json()
    assert full == {"list_version": 1, "mode": "full", "values": ["acme", "globex"]}
    acme.ok("PATCH", f"/lists/{s.list['id']}/values", json={"add": ["initech"], "remove": ["acme"]})
    delta = s.pub_call("GET", path + "?since=1").json()
    assert delta == {"list_version": 2, "mode": "delta", "added": ["initech"], "removed": ["acme"]}
    assert s.pub_call("GET", path + "?since=2").json()["added"] == []
    assert s.pub_call("GET", path + "?since=99").json()["mode"] == "full"
    r = s.pub_call("GET", f"/campaigns/{s.cid}/jobs/{s.cond_job['id']}/values")
    assert r.status_code == 404


def test_full_snapshot_is_gzipped_on_request(acme: Api) -> None:
    s = Setup(acme)
    values = [f"company-{i:05d}.example" for i in range(5000)]
    acme.ok("PATCH", f"/lists/{s.list['id']}/values", json={"add": values})
    r = s.pub_call(
        "GET",
        f"/campaigns/{s.cid}/jobs/{s.list_job['id']}/values",
        headers={"Accept-Encoding": "gzip"},
    )
    assert r.headers.get("content-encoding") == "gzip"
    body = r.json()  # the client decompresses
    assert body["list_version"] == 2 and len(body["values"]) == 5002
    assert (
        int(r.headers.get("content-length", 10**9)) < len(json.dumps(body))
        or "content-length" not in r.headers
    )
    raw = gzip.compress(json.dumps(body).encode())
    assert len(raw) < len(json.dumps(body))


def test_lead_submission_idempotency_and_errors(acme: Api) -> None:
    s = Setup(acme)
    path = f"/campaigns/{s.cid}/leads"
    body = {"data": {"company": "Acme", "country": "US", "email": "a@acme.example"}}
    r = s.pub_call("POST", path, json=body, headers={"Idempotency-Key": "k-1"})
    assert r.status_code == 201
    lead = r.json()
    assert set(lead) == {"id", "status", "score", "max_score", "flags", "updated_at"}
    assert (lead["status"], lead["score"], lead["max_score"]) == ("valid", 40, 40)
    again = s.pub_call("POST", path, json=body, headers={"Idempotency-Key": "k-1"})
    assert again.status_code == 200 and again.json()["id"] == lead["id"]
    other = s.pub_call(
        "POST", path, json={"data": {"company": "Else"}}, headers={"Idempotency-Key": "k-1"}
    )
    assert other.status_code == 409 and other.json()["code"] == "idempotency_conflict"
    second = acme.campaign("Second form")["id"]
    acme.ok("PUT", f"/campaigns/{second}/publishers/{s.pub['id']}", 204)
    elsewhere = s.pub_call(
        "POST", f"/campaigns/{second}/leads", json=body, headers={"Idempotency-Key": "k-1"}
    )
    assert elsewhere.status_code == 409 and "another campaign" in elsewhere.json()["detail"]
    bad = s.pub_call("POST", path, json={"data": {"company": "X", "favouriteColour": "red"}})
    assert bad.status_code == 422 and bad.json()["code"] == "unknown_fields"
    nul = s.pub_call("POST", path, json={"data": {"company": "Acme\u0000Evil"}})
    assert nul.status_code == 422 and "NUL character" in nul.json()["detail"]
    for key in ("", "k" * 201):
        r = s.pub_call("POST", path, json=body, headers={"Idempotency-Key": key})
        assert r.status_code == (201 if key == "" else 422), (key, r.text)
    assert s.pub_call("POST", f"/campaigns/{2**63}/leads", json=body).status_code == 422
    assert s.pub_call("POST", path, content=b"{not json").json()["code"] == "invalid_request"
    flagged = s.pub_call("POST", path, json={"data": {"company": "Nobody", "country": "US"}}).json()
    assert (flagged["status"], flagged["score"], flagged["max_score"]) == ("invalid", 10, 40)
    assert flagged["flags"][0]["code"] == "validation_list.no_match"
    assert s.pub_call("GET", f"/leads/{lead['id']}").json()["status"] == "valid"
    acme.ok("PATCH", f"/campaigns/{s.cid}", json={"status": "paused"})
    r = s.pub_call("POST", path, json=body)
    assert r.status_code == 403 and r.json()["code"] == "campaign_paused"
    ungranted = acme.campaign("Not granted")["id"]
    r = s.pub_call("POST", f"/campaigns/{ungranted}/leads", json=body)
    assert r.status_code == 404 and r.json()["code"] == "campaign_not_found"


def test_publishers_see_only_their_own_leads(acme: Api, other: Api) -> None:
    s = Setup(acme)
    lead = s.pub_call(
        "POST", f"/campaigns/{s.cid}/leads", json={"data": {"company": "acme"}}
    ).json()
    pub2, key2 = acme.publisher("Rival")
    acme.ok("PUT", f"/campaigns/{s.cid}/publishers/{pub2['id']}", 204)
    r = acme.call("GET", f"/publisher/leads/{lead['id']}", secret=key2["key"])
    assert r.status_code == 404 and r.json()["code"] == "lead_not_found"
    admin_lead = acme.ok(
        "POST", f"/campaigns/{s.cid}/leads", 201, json={"data": {"company": "acme"}}
    )
    assert s.pub_call("GET", f"/leads/{admin_lead['id']}").status_code == 404
    _, foreign = other.publisher()
    for path in (
        f"/campaigns/{s.cid}/jobs",
        f"/leads/{lead['id']}",
        "/webhooks",
        f"/campaigns/{s.cid}/jobs/{s.list_job['id']}/values",
    ):
        assert acme.call("GET", "/publisher" + path, secret=foreign["key"]).status_code == 401


def test_rate_limit(settings: Settings, database_url: str, acme: Api) -> None:
    s = Setup(acme)
    limited = create_app(settings.model_copy(update={"rate_limit_requests": 3}), database_url)
    with TestClient(limited) as c:
        url = f"/i/{acme.subdomain}/api/v1/publisher/campaigns"
        codes = [
            c.get(url, headers={"Authorization": f"Bearer {s.key}"}).status_code for _ in range(4)
        ]
        assert codes == [200, 200, 200, 429]
        r = c.get(url, headers={"Authorization": f"Bearer {s.key}"})
        assert r.json()["code"] == "rate_limited" and int(r.headers["retry-after"]) >= 1
        # Admin calls are not counted against the key.
        assert (
            c.get(
                f"/i/{acme.subdomain}/api/v1/campaigns",
                headers={"Authorization": f"Bearer {acme.token}"},
            ).status_code
            == 200
        )
