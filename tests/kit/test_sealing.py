"""Sealed secrets: what leadgate must read back is stored sealed with the deployment key.

A scan of every table and of the WAL written meanwhile finds none of the secrets a Connect set-up
stores (client API keys, webhook signing secrets) in plain text; rotation re-seals them under a
new key and keeps the Connect jobs working; a wrong key stops a start-up with a clear message.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from leadgate.db import transaction
from leadgate.delivery.models import DeliveryConnection
from leadgate.kit import sealing
from leadgate.kit.ratelimit import RateLimiter
from leadgate.leads.intake import LeadIntake
from leadgate.mirror.models import ConnectMirror
from leadgate.processr.models import ProcessrJob
from leadgate.secret_rotation import rotate
from leadgate.webhooks.models import WebhookSubscription
from tests.conftest import AppTransport
from tests.factories import CONNECT_BODIES, Api, Connected


def test_seal_and_open() -> None:
    key = Fernet.generate_key()
    box = sealing.Sealer([key])
    sealed = box.seal("lgp_client-key")
    assert sealing.is_sealed(sealed) and "lgp_client-key" not in sealed
    assert box.seal("lgp_client-key") != sealed  # a new token each time
    assert box.open(sealed) == "lgp_client-key"
    assert box.open("written before sealing") == "written before sealing"
    other = sealing.Sealer([Fernet.generate_key()])
    with pytest.raises(sealing.WrongKey, match="not the key"):
        other.open(sealed)
    rotated = sealing.Sealer([Fernet.generate_key(), key])
    resealed = rotated.reseal(sealed)
    assert rotated.open(resealed) == "lgp_client-key"
    with pytest.raises(sealing.WrongKey):
        box.open(resealed)  # the old key alone no longer opens it
    with pytest.raises(sealing.WrongKey, match="urlsafe base64"):
        sealing.Sealer([b"not a key"])


def test_the_key_file_is_made_once_and_private(tmp_path: Path) -> None:
    first = sealing.keys_from(None, tmp_path / "data")
    assert sealing.keys_from(None, tmp_path / "data") == first
    assert (tmp_path / "data" / "secret.key").stat().st_mode & 0o777 == 0o600
    assert sealing.keys_from("a, b", tmp_path) == [b"a", b"b"]


def _wal_position(sessions: sessionmaker[Session]) -> tuple[Path, str]:
    with sessions() as s:
        data_dir = Path(s.execute(text("SHOW data_directory")).scalar_one())
        first = s.execute(text("SELECT pg_walfile_name(pg_current_wal_lsn())")).scalar_one()
    return data_dir / "pg_wal", str(first)


def _wal_since(wal: Path, first: str) -> bytes:
    """The WAL segments written from `first` on (names sort in write order)."""
    names = sorted(p.name for p in wal.iterdir() if len(p.name) == 24 and p.name >= first)
    assert names, f"no WAL segment from {first} in {wal}"
    return b"".join((wal / name).read_bytes() for name in names)


def _tables_text(sessions: sessionmaker[Session]) -> str:
    """Every text, character and JSON column of every table of this database, as text."""
    with sessions() as s:
        columns = s.execute(
            text(
                "SELECT table_schema, table_name, column_name FROM information_schema.columns "
                "WHERE table_schema = 'public' AND data_type IN "
                "('text', 'character varying', 'json', 'jsonb', 'ARRAY', 'bytea')"
            )
        ).all()
        parts = []
        for schema, table, column in columns:
            name = f'"{schema}"."{table}"'
            rows = s.execute(
                text(f'SELECT "{column}"::text FROM {name} WHERE "{column}" IS NOT NULL')
            ).scalars()
            parts.extend(rows)
    return "\n".join(parts)


def _stored_secrets(sessions: sessionmaker[Session], w: Connected) -> list[str]:
    """The plain secrets the set-up stored, read back through the app's own columns."""
    with sessions() as s:
        jobs = s.scalars(
            select(ProcessrJob).where(ProcessrJob.id.in_([w.mirror["id"], w.delivery["id"]]))
        ).all()
        found = [job.config["API_Key"] for job in jobs]
        found += [m.webhook_secret for m in s.scalars(select(ConnectMirror))]
        found += [c.webhook_secret for c in s.scalars(select(DeliveryConnection))]
        found += [sub.secret for sub in s.scalars(select(WebhookSubscription))]
    return sorted({f for f in found if f})


@contextmanager
def _keys(*keys: str) -> Iterator[None]:
    """This process seals and opens with these keys inside the block."""
    before = os.environ["LEADGATE_SECRET_KEY"]
    sealing.configure(",".join(keys), Path("."))
    try:
        yield
    finally:
        sealing.configure(before, Path("."))


def test_no_secret_is_stored_in_plain_text_and_rotation_keeps_connect_working(
    acme: Api,
    other: Api,
    sessions: sessionmaker[Session],
    database_url: str,
    peers: AppTransport,
) -> None:
    wal, first = _wal_position(sessions)
    w = Connected(acme, other)
    outcomes = LeadIntake(sessions, RateLimiter(1000, 60), database_url).run(w.subs(CONNECT_BODIES))
    assert [o.lead.status for o in outcomes][:2] == ["valid", "valid"]  # deliveries queued
    secrets = _stored_secrets(sessions, w)
    assert any(s.startswith("lgp_") for s in secrets), secrets  # the client's key, in 2 jobs
    assert any(s.startswith("whsec_") for s in secrets), secrets
    secrets_and_ours = [*secrets, w.key]  # our own publisher key is only ever hashed
    stored = _tables_text(sessions)
    segments = _wal_since(wal, first)
    for secret in secrets_and_ours:
        assert secret not in stored, f"{secret[:8]}… is stored in plain text"
        assert secret.encode() not in segments, f"{secret[:8]}… is in the WAL in plain text"
    assert sealing.PREFIX in stored

    # Rotation: the new key first, the old one after it; then the new one alone opens all.
    old, new = os.environ["LEADGATE_SECRET_KEY"], sealing.new_key()
    with _keys(new, old), transaction(sessions) as s:
        assert rotate(s) >= len(secrets)
    with _keys(new):
        assert _stored_secrets(sessions, w) == secrets
        state = acme.ok("POST", f"/campaigns/{w.cid}/jobs/{w.mirror['id']}/sync")
        assert state["state"] == "ok"
        refreshed = acme.ok(
            "POST", f"/campaigns/{w.cid}/jobs/{w.delivery['id']}/connection/refresh-fields"
        )
        assert refreshed["client_fields"], refreshed  # the client took the stored key
    with pytest.raises(sealing.WrongKey), sessions() as s:  # the old key alone: no longer
        s.scalars(select(ProcessrJob).where(ProcessrJob.id == w.mirror["id"])).one()
    with _keys(old, new), transaction(sessions) as s:  # back to the run's own key
        rotate(s)


def test_a_wrong_deployment_key_stops_the_start_up(database_url: str) -> None:
    env = {**os.environ, "DATABASE_URL": database_url, "LEADGATE_SECRET_KEY": sealing.new_key()}
    done = subprocess.run(
        [sys.executable, "-m", "leadgate", "migrate"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 3, done.stderr
    assert "wrong_secret_key" in done.stderr and "LEADGATE_SECRET_KEY" in done.stderr
