"""The embedded PostgreSQL start-up and the CLI, run as a user would (no DATABASE_URL)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from leadgate.config import Settings
from leadgate.demo import seed

LEADGATE = [sys.executable, "-m", "leadgate"]


def _env(data_dir: Path) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "LEADGATE_DATABASE_URL")
    }
    env["LEADGATE_DATA_DIR"] = str(data_dir)
    return env


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("lg")


@pytest.mark.slow  # boots an embedded PostgreSQL cluster in a subprocess
def test_instance_create_on_embedded_postgres(data_dir: Path) -> None:
    out = subprocess.run(
        [*LEADGATE, "instance", "create", "smoke", "--name", "Smoke Test"],
        env=_env(data_dir),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    created = json.loads(out.stdout)
    assert created["subdomain"] == "smoke" and created["admin_token"].startswith("lga_")
    assert (data_dir / "pgdata" / "PG_VERSION").exists()

    again = subprocess.run(
        [*LEADGATE, "instance", "create", "smoke"],
        env=_env(data_dir),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert again.returncode == 2 and "instance_exists" in again.stderr


def test_invalid_subdomain_is_a_clear_error(data_dir: Path) -> None:
    out = subprocess.run(
        [*LEADGATE, "instance", "create", "Bad_Name"],
        env=_env(data_dir),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 2
    assert "invalid_subdomain" in out.stderr and "Traceback" not in out.stderr


@pytest.mark.slow  # boots an embedded PostgreSQL cluster in a subprocess
def test_demo_is_idempotent(data_dir: Path) -> None:
    first = subprocess.run(
        [*LEADGATE, "demo"], env=_env(data_dir), capture_output=True, text=True, timeout=180
    )
    assert first.returncode == 0, first.stderr
    second = subprocess.run(
        [*LEADGATE, "demo"], env=_env(data_dir), capture_output=True, text=True, timeout=180
    )
    assert second.returncode == 0, second.stderr
    a, b = json.loads(first.stdout), json.loads(second.stdout)
    assert a["acme"]["url"].endswith("/i/acme") and a["leadco"]["url"].endswith("/i/leadco")
    assert a["acme"]["campaign_id"] == b["acme"]["campaign_id"]
    assert a["leadco"]["campaign_id"] == b["leadco"]["campaign_id"]


def test_help_explains_commands() -> None:
    out = subprocess.run([*LEADGATE, "--help"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0
    for command in ("serve", "worker", "instance", "demo"):
        assert command in out.stdout


def test_the_demo_client_tidies_values_and_rejects_a_duplicate(
    sessions: sessionmaker[Session], settings: Settings, client: TestClient
) -> None:
    """What the README's Processr section shows: acme's campaign transforms, checks the email
    and refuses the same address twice (the delivery job is left out: no acme over HTTP)."""
    offline = settings.model_copy(update={"instance_url": "http://127.0.0.1:9/i/{subdomain}"})
    demo = seed(sessions, offline)
    assert any("Connect delivery was not added" in note for note in demo["notes"])
    acme, cid = demo["acme"], demo["acme"]["campaign_id"]
    headers = {"Authorization": f"Bearer {acme['admin_token']}"}
    base = "/i/acme/api/v1"
    jobs = client.get(f"{base}/campaigns/{cid}/jobs", headers=headers).json()["items"]
    assert {"duplicate_check", "email_format", "value_transforms"} <= {j["type"] for j in jobs}
    body = {
        "firstName": "Kim",
        "lastName": "Lee",
        "email": " Kim.Lee+Webinar@Initech.example",
        "company": "Initech",
        "country": "us",
    }
    first = client.post(f"{base}/campaigns/{cid}/leads", json={"data": body}, headers=headers)
    assert first.status_code == 201, first.text
    assert (first.json()["status"], first.json()["flags"]) == ("valid", [])
    assert first.json()["data"]["country"] == "US"
    again = {**body, "email": "kim.lee@initech.example"}
    second = client.post(f"{base}/campaigns/{cid}/leads", json={"data": again}, headers=headers)
    lead = second.json()
    assert lead["status"] == "invalid"
    assert [f["code"] for f in lead["flags"]] == ["duplicate.found"]
    assert f"as lead {first.json()['id']}, received" in lead["flags"][0]["message"]
    assert seed(sessions, offline)["acme"]["campaign_id"] == cid  # idempotent
    assert len(client.get(f"{base}/campaigns/{cid}/jobs", headers=headers).json()["items"]) == 7
