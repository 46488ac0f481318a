"""Bad input gets a clear problem+json 4xx, never a 500 and never a partial write."""

from __future__ import annotations

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
