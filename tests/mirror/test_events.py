"""The client's job events drive the mirror with as few calls as the change needs: an event that
announces what we hold already queues nothing, a list change pulls only the values (no GET of
the definition), a definition change pulls the definition, and events that arrive out of order
never make the mirror skip the newest one."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker
from standardwebhooks import Webhook

from leadgate.config import Settings
from leadgate.db import transaction
from leadgate.mirror import repository, service
from leadgate.mirror import sync as syncing
from leadgate.mirror.models import ConnectMirror
from leadgate.processr.models import ProcessrJob
from tests.conftest import AppTransport
from tests.factories import Api, Connected


def _mirror(sessions: sessionmaker[Session], job_id: int) -> ConnectMirror:
    with sessions() as s:
        mirror = s.get(ConnectMirror, job_id)
        assert mirror is not None
        s.expunge(mirror)
        return mirror


def _event(sessions: sessionmaker[Session], w: Connected, version: Any, list_version: Any) -> bool:
    """Deliver a signed job.updated event, as the client's webhook sends it."""
    mirror = _mirror(sessions, w.mirror["id"])
    assert mirror.webhook_secret is not None
    body = json.dumps(
        {
            "type": "job.updated",
            "data": {
                "campaign_id": mirror.remote_campaign_id,
                "job_id": mirror.remote_job_id,
                "version": version,
                "list_version": list_version,
            },
        }
    ).encode()
    msg_id, at = f"msg_{uuid.uuid4().hex}", datetime.now(UTC)
    headers = {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(mirror.webhook_secret).sign(msg_id, at, body.decode()),
    }
    with transaction(sessions) as s:
        return service.receive_event(s, mirror.instance_id, mirror.job_id, body, headers)


def _syncs_waiting(sessions: sessionmaker[Session], job_id: int) -> int:
    with sessions() as s:
        return int(
            s.execute(
                text(
                    "SELECT count(*) FROM procrastinate_jobs WHERE queueing_lock = :lock "
                    "AND status = 'todo'"
                ),
                {"lock": f"mirror-{job_id}"},
            ).scalar_one()
        )


def _forget_waiting_syncs(sessions: sessionmaker[Session], job_id: int) -> None:
    """No worker runs here: drop the syncs that saving the job queued."""
    with transaction(sessions) as s:
        s.execute(
            text("DELETE FROM procrastinate_jobs WHERE queueing_lock = :lock"),
            {"lock": f"mirror-{job_id}"},
        )


def _sync(sessions: sessionmaker[Session], w: Connected, settings: Settings) -> ConnectMirror:
    with transaction(sessions) as s:
        job = s.get(ProcessrJob, w.mirror["id"])
        assert job is not None
        mirror = syncing.sync(s, job, settings)
        s.flush()
        s.expunge(mirror)
        return mirror


def _calls(peers: AppTransport, since: int) -> list[str]:
    """The client calls since `since`, as 'definition' / 'values' (others left out)."""
    out = []
    for method, path in peers.seen[since:]:
        if method == "GET" and path.endswith("/values"):
            out.append("values")
        elif method == "GET" and "/jobs/" in path:
            out.append("definition")
    return out


def test_events_pull_only_what_changed(
    acme: Api,
    other: Api,
    sessions: sessionmaker[Session],
    settings: Settings,
    peers: AppTransport,
) -> None:
    w = Connected(acme, other)
    job_id = w.mirror["id"]
    held = _mirror(sessions, job_id)
    assert held.state == "ok" and held.version is not None and held.list_version is not None
    _forget_waiting_syncs(sessions, job_id)

    # What we hold already: recorded, nothing queued, nothing pulled.
    assert _event(sessions, w, held.version, held.list_version)
    assert _syncs_waiting(sessions, job_id) == 0

    # The client's list changes: the event announces a new list version, same definition.
    other.ok("PATCH", f"/lists/{w.list['id']}/values", json={"add": ["Umbrella"]})
    listed = other.ok("GET", f"/lists/{w.list['id']}")["version"]
    assert _event(sessions, w, held.version, listed)
    assert _syncs_waiting(sessions, job_id) == 1
    before = len(peers.seen)
    after = _sync(sessions, w, settings)
    assert _calls(peers, before) == ["values"]
    assert (after.version, after.list_version) == (held.version, listed)
    assert after.definition is not None and after.definition["list"]["version"] == listed
    assert (after.announced_version, after.announced_list_version) == (None, None)
    with sessions() as s:
        values = {v for _, v in repository.values_with_version(s, job_id)}
    assert values == {"Acme", "Globex", "Umbrella"}

    # A definition change: the sync pulls the definition (and the values if they moved too).
    _forget_waiting_syncs(sessions, job_id)
    check = w.mirror["config"]["Campaign_Processr_Job"]
    theirs = w.mirror["config"]["Campaign"]
    other.ok(
        "PATCH", f"/campaigns/{theirs}/jobs/{check}", json={"config": {"operator": "contains"}}
    )
    newer = other.ok("GET", f"/campaigns/{theirs}/jobs/{check}")["version"]
    assert newer > held.version
    # Out of order: the new definition's event first, then a late one about the old definition.
    assert _event(sessions, w, newer, listed)
    assert _event(sessions, w, held.version, listed)
    before = len(peers.seen)
    after = _sync(sessions, w, settings)
    assert _calls(peers, before) == ["definition"]
    assert after.version == newer and after.definition is not None
    assert after.definition["operator"] == "contains"
