"""Bad input gets a clear problem+json 4xx, never a 500 and never a partial write."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.factories import Api


def test_malformed_json(acme: Api) -> None:
    r = acme.call(
        "POST",
        "/campaigns",
        content=b'{"name": "x", ',
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "invalid_request"
    assert "not valid JSON" in r.json()["detail"]


def test_oversize_body_is_413(acme: Api) -> None:
    big = {"name": "x", "fields": [{"name": "f", "label": "y" * 100}] * 20_000}
    r = acme.call("POST", "/campaigns", json=big)
    assert r.status_code == 413
    assert r.json()["code"] == "too_large"
    assert acme.ok("GET", "/campaigns")["items"] == []


def test_oversize_chunked_body_is_413(acme: Api) -> None:
    def chunks():  # type: ignore[no-untyped-def]
        yield b'{"name": "x", "fields": ['
        for _ in range(30_000):
            yield b'{"name": "f", "label": "' + b"y" * 40 + b'"},'
        yield b'{"name": "g"}]}'

    r = acme.call(
        "POST", "/campaigns", content=chunks(), headers={"content-type": "application/json"}
    )
    assert r.status_code == 413 and r.json()["code"] == "too_large"


def test_missing_and_wrong_secret(acme: Api) -> None:
    for secret in ("", "lga_wrong", "lgp_wrong", "garbage"):
        r = acme.call("GET", "/campaigns", secret=secret)
        assert r.status_code == 401, secret
        assert r.json()["code"] == "unauthorized"
    r = acme.client.get(acme.base + "/campaigns", headers={"Authorization": f"Basic {acme.token}"})
    assert r.status_code == 401


def test_unknown_path_and_method(client: TestClient, acme: Api) -> None:
    r = acme.call("GET", "/no-such-thing")
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    r = acme.call("DELETE", "/campaigns")
    assert r.status_code == 405 and r.json()["code"] == "method_not_allowed"


def test_invalid_subdomain_in_path(client: TestClient, acme: Api) -> None:
    r = client.get(
        "/i/Not_Valid!/api/v1/campaigns", headers={"Authorization": f"Bearer {acme.token}"}
    )
    assert r.status_code in (401, 404, 422)
    assert r.headers["content-type"] == "application/problem+json"


def test_openapi_is_served_per_instance(acme: Api) -> None:
    doc = acme.ok("GET", "/openapi.json", secret="")
    assert "/i/{subdomain}/api/v1/campaigns" in doc["paths"]
    assert "/i/{subdomain}/api/v1/publisher/campaigns" in doc["paths"]


def _raw(api: Api, path: str, body: bytes, secret: str | None = None) -> Any:
    return api.call(
        "POST", path, content=body, secret=secret, headers={"content-type": "application/json"}
    )


def test_malformed_json_answers_the_same_422_on_every_route(acme: Api) -> None:
    """Not UTF-8, nested too deep, or broken: 422 invalid_request on the admin routes as on
    the lead route (the contract's answer to an invalid body), never 400 on some of them."""
    cid = acme.campaign("Form", [{"name": "x"}])["id"]
    pub, key = acme.publisher("P")
    acme.ok("PUT", f"/campaigns/{cid}/publishers/{pub['id']}", 204)
    routes = [
        ("/campaigns", None),
        (f"/campaigns/{cid}/leads", None),
        ("/lists", None),
        (f"/publisher/campaigns/{cid}/leads", key["key"]),
        (f"/publisher/campaigns/{cid}/leads/batch", key["key"]),
    ]
    for body in (b'{"name": "caf\xe9"}', b"[" * 5000 + b"]" * 5000, b'{"name": '):
        for path, secret in routes:
            r = _raw(acme, path, body, secret)
            assert r.status_code == 422, (path, body[:12], r.text)
            assert r.json()["code"] == "invalid_request"
            assert r.json()["detail"] == "The request body is not valid JSON.", (path, body[:12])


def test_lone_surrogates_are_refused_naming_where_they_are(acme: Api) -> None:
    """A lone surrogate is no Unicode text: every JSON route refuses it with 422 naming its
    place, before anything reaches the database (it answered 500 for list values)."""
    cid = acme.campaign("Form", [{"name": "x"}, {"name": "y"}])["id"]
    pub, key = acme.publisher("P")
    acme.ok("PUT", f"/campaigns/{cid}/publishers/{pub['id']}", 204)
    cases = [
        ("/lists", b'{"name": "L", "values": ["ok", "x\\ud800y"]}', None, "values.1"),
        (
            "/campaigns",
            b'{"name": "C", "fields": [{"name": "x", "label": "\\udc00"}]}',
            None,
            "fields.0.label",
        ),
        (f"/campaigns/{cid}/leads", b'{"data": {"x": "a", "y": "\\ud83d"}}', None, "data.y"),
        (f"/campaigns/{cid}/leads", b'{"data": {"\\ud800": "a"}}', None, "data.\\ud800"),
        (
            f"/campaigns/{cid}/jobs",
            b'{"type": "simple_conditional_validation", "config": {"field_name": "x", '
            b'"operator": "EQUAL", "values": ["\\udfff"]}}',
            None,
            "config.values.0",
        ),
        (f"/publisher/campaigns/{cid}/leads", b'{"data": {"x": "\\ud800"}}', key["key"], "data.x"),
        (
            f"/publisher/campaigns/{cid}/leads/batch",
            b'{"items": [{"data": {"x": "fine"}}, {"data": {"x": "\\ud800\\ud800"}}]}',
            key["key"],
            "items.1.data.x",
        ),
    ]
    for path, body, secret, where in cases:
        r = _raw(acme, path, body, secret)
        assert r.status_code == 422, (path, r.text)
        problem = r.json()
        assert problem["code"] == "invalid_request"
        assert problem["detail"].startswith(f"{where}: ") and "lone surrogate" in problem["detail"]
        assert problem["errors"][0]["loc"] == ["body", *where.split(".")]
    assert acme.ok("GET", "/lists")["items"] == []
    assert acme.ok("GET", f"/leads?campaign_id={cid}")["items"] == []
    # A pair of surrogates is an ordinary character (here an emoji), and stays one.
    lead = _raw(acme, f"/campaigns/{cid}/leads", b'{"data": {"x": "\\ud83d\\ude00 \\\\ud800"}}')
    assert lead.status_code == 201, lead.text
    assert lead.json()["data"] == {"x": "\U0001f600 \\ud800"}
