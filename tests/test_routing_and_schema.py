"""Host-header routing, and the migrations matching the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from fastapi.testclient import TestClient
from sqlalchemy import create_engine

import leadgate.models  # noqa: F401
from leadgate.app import create_app
from leadgate.config import Settings
from leadgate.db import Base, sqlalchemy_url
from tests.factories import Api


def test_host_header_routes_to_the_instance(
    settings: Settings, database_url: str, acme: Api
) -> None:
    cid = acme.campaign("via path")["id"]
    routed = create_app(settings.model_copy(update={"base_domain": "leads.example"}), database_url)
    with TestClient(routed, base_url=f"http://{acme.subdomain}.leads.example") as c:
        r = c.get(f"/api/v1/campaigns/{cid}", headers={"Authorization": f"Bearer {acme.token}"})
        assert r.status_code == 200 and r.json()["name"] == "via path"
        r = c.get("/api/v1/campaigns", headers={"Authorization": "Bearer nope"})
        assert r.status_code == 401
    with TestClient(routed, base_url="http://other-host.example") as c:
        r = c.get("/api/v1/campaigns", headers={"Authorization": f"Bearer {acme.token}"})
        assert r.status_code == 404


def test_migrations_match_models(database_url: str) -> None:
    engine = create_engine(sqlalchemy_url(database_url))
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    ours = [d for d in diff if "procrastinate" not in repr(d)]
    assert ours == []
