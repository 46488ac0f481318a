"""`/healthz` says the process lives; `/readyz` says whether it can serve: the database takes
connections and its schema is at this code's newest migration (a load balancer's check)."""

from __future__ import annotations

import secrets

import psycopg
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from leadgate.app import create_app
from leadgate.config import Settings
from leadgate.db import libpq_url, migration_head


def test_ready_when_the_database_is_there_and_migrated(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    r = client.get("/readyz")
    assert r.status_code == 200 and r.json() == {"status": "ready", "migration": migration_head()}


def test_not_ready_without_a_database_or_before_the_migrations(
    settings: Settings, database_url: str
) -> None:
    closed = make_url(database_url).set(host="127.0.0.1", port=1)
    with TestClient(create_app(settings, closed.render_as_string(hide_password=False))) as c:
        r = c.get("/readyz")
        assert r.status_code == 503 and r.headers["content-type"] == "application/problem+json"
        assert r.json()["code"] == "not_ready" and "not reachable" in r.json()["detail"]
        assert c.get("/healthz").status_code == 200  # alive all the same

    empty = f"leadgate_empty_{secrets.token_hex(3)}"
    with psycopg.connect(libpq_url(database_url), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{empty}"')
    try:
        url = make_url(database_url).set(database=empty).render_as_string(hide_password=False)
        with TestClient(create_app(settings, url)) as c:
            r = c.get("/readyz")
            assert r.status_code == 503, r.text
            assert f"this code needs {migration_head()}" in r.json()["detail"]
    finally:
        with psycopg.connect(libpq_url(database_url), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{empty}" WITH (FORCE)')
