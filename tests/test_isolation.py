"""Every admin endpoint refuses a secret of another instance and a publisher key: 401/404, no data.

The matrix is built from the app's own routes, so an endpoint added later is covered too.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi import FastAPI

from leadgate.app import API_PREFIX
from tests.factories import Api


def admin_routes(app: FastAPI) -> list[tuple[str, str]]:
    out = []
    for path, operations in app.openapi()["paths"].items():
        if not path.startswith(API_PREFIX):
            continue
        rel = path[len(API_PREFIX) :]
        # Publisher endpoints have their own matrix; the Connect event receivers take no
        # bearer secret at all (they verify signatures; tests/e2e covers them).
        if rel.startswith(("/publisher/", "/connect/events/", "/connect/lead-events/")):
            continue
        out.extend((method.upper(), rel) for method in operations)
    return out


@pytest.fixture
def owned(acme: Api) -> dict[str, Any]:
    """Real ids of acme's objects, to fill path parameters."""
    campaign = acme.campaign()
    pub, key = acme.publisher()
    lead = acme.ok(
        "POST", f"/campaigns/{campaign['id']}/leads", 201, json={"data": {"email": "a@b"}}
    )
    lst = acme.ok("POST", "/lists", 201, json={"name": "Accounts", "values": ["a@b"]})
    job = acme.ok(
        "POST",
        f"/campaigns/{campaign['id']}/jobs",
        201,
        json={"type": "required_fields", "config": {"fields": ["email"]}},
    )
    ids = {
        "campaign_id": campaign["id"],
        "publisher_id": pub["id"],
        "key_id": key["id"],
        "lead_id": lead["id"],
        "list_id": lst["id"],
        "job_id": job["id"],
        "reason_id": acme.ok("GET", "/reasons")["items"][0]["id"],
    }
    return {"ids": ids, "key": key["key"], "lead": lead}


def _fill(path: str, ids: dict[str, int]) -> str:
    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        return str(ids.get(name, 1))

    return re.sub(r"\{(\w+)\}", sub, path)


def test_matrix_covers_the_contract(app: FastAPI) -> None:
    routes = admin_routes(app)
    for expected in [
        ("POST", "/campaigns"),
        ("GET", "/leads"),
        ("DELETE", "/publishers/{publisher_id}/api-keys/{key_id}"),
    ]:
        assert expected in routes


def test_other_instance_secret_and_publisher_key_get_nothing(
    app: FastAPI, acme: Api, other: Api, owned: dict[str, Any]
) -> None:
    ids = owned["ids"]
    routes = admin_routes(app)
    # The other instance's valid token, on its own URL, does not reach acme's rows by id.
    for method, rel in routes:
        if method == "GET" and "{" in rel:
            r = other.call(method, _fill(rel, ids))
            assert r.status_code == 404, f"{method} {rel} on other: {r.status_code}"
    checked = 0
    for method, rel in routes:
        path = _fill(rel, ids)
        body = {"name": "x", "fields": [], "data": {}, "reason": "r", "user": "u"}
        for secret in (other.token, owned["key"]):
            r = acme.call(method, path, secret=secret, json=body)
            assert r.status_code in (401, 404), (
                f"{method} {path} with {secret[:4]}: {r.status_code}"
            )
            problem = r.json()
            assert r.headers["content-type"] == "application/problem+json"
            assert set(problem) <= {"type", "title", "status", "code", "detail"}
            assert "a@b" not in r.text
            checked += 1
    assert checked >= 2 * 14
    # Nothing was changed by all those calls.
    lead = acme.ok("GET", f"/leads/{ids['lead_id']}")
    assert lead["status"] == owned["lead"]["status"] == "valid"  # judged before the job came
    assert lead["history"] == owned["lead"]["history"] and lead["data"] == {"email": "a@b"}
    assert acme.ok("GET", f"/campaigns/{ids['campaign_id']}")["status"] == "active"
    assert acme.ok("GET", f"/lists/{ids['list_id']}")["version"] == 1
    assert len(acme.ok("GET", f"/campaigns/{ids['campaign_id']}/jobs")["items"]) == 1


def test_another_instance_reaches_no_lead_reason_or_export_by_id(
    acme: Api, other: Api, owned: dict[str, Any]
) -> None:
    """Write routes that take ids in the body or query, with the other instance's own valid
    token on its own URL: acme's ids are not found, and nothing of acme changes."""
    ids = owned["ids"]
    bulk = {"lead_ids": [ids["lead_id"]], "status": "invalid", "reason": "None"}
    for method, path, body, code in (
        ("POST", "/leads/bulk-status", bulk, "lead_not_found"),
        ("PATCH", f"/reasons/{ids['reason_id']}", {"name": "Taken over"}, "reason_not_found"),
        ("DELETE", f"/reasons/{ids['reason_id']}", None, "reason_not_found"),
        ("GET", f"/leads/export?campaign_id={ids['campaign_id']}", None, "campaign_not_found"),
        ("GET", f"/leads/export?publisher_id={ids['publisher_id']}", None, "publisher_not_found"),
    ):
        r = other.call(method, path, json=body)
        assert r.status_code == 404 and r.json()["code"] == code, (method, path, r.text)
        assert "a@b" not in r.text
    filtered = {
        "filter": {"campaign_id": ids["campaign_id"]},
        "status": "invalid",
        "reason": "None",
    }
    assert other.ok("POST", "/leads/bulk-status", json=filtered)["count"] == 0
    assert "a@b" not in other.call("GET", "/leads/export").text
    assert acme.ok("GET", f"/leads/{ids['lead_id']}")["status"] == "valid"
    assert [r["name"] for r in acme.ok("GET", "/reasons")["items"]] == ["None"]


def test_publisher_endpoints_refuse_admin_token_and_foreign_keys(acme: Api, other: Api) -> None:
    pub, key = acme.publisher()
    cid = acme.campaign()["id"]
    acme.ok("PUT", f"/campaigns/{cid}/publishers/{pub['id']}", 204)
    _, other_key = other.publisher()
    for path in ("/publisher/campaigns", f"/publisher/campaigns/{cid}/fields"):
        assert acme.call("GET", path).status_code in (401, 404)  # admin token
        assert acme.call("GET", path, secret=other_key["key"]).status_code == 401
        assert acme.call("GET", path, secret=key["key"]).status_code == 200


def test_stats_count_only_the_instances_own_leads(
    acme: Api, other: Api, owned: dict[str, Any]
) -> None:
    ids = owned["ids"]
    mine = acme.ok("GET", "/stats")
    assert mine["total"] == 1 and mine["by_status"]["valid"] == 1
    # The other instance's token: acme's campaign is not found, its own numbers are empty.
    r = other.call("GET", "/stats", params={"campaign_id": ids["campaign_id"]})
    assert r.status_code == 404 and r.json()["code"] == "campaign_not_found"
    theirs = other.ok("GET", "/stats")
    assert theirs["total"] == 0 and theirs["by_publisher"] == []
    # Neither the other token nor a publisher key reads acme's numbers on acme's URL.
    for secret in (other.token, owned["key"]):
        assert acme.call("GET", "/stats", secret=secret).status_code == 401
