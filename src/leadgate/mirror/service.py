"""Mirrors on the publisher side: their sync state, syncs queued, the client's inbound events."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from leadgate.config import Settings
from leadgate.errors import NotFound
from leadgate.kit.repository import TenantScope
from leadgate.leads import repository as leads
from leadgate.leads.tasks import rejudge_waiting
from leadgate.mirror import repository
from leadgate.mirror import sync as syncing
from leadgate.mirror.models import ConnectMirror
from leadgate.mirror.schemas import SyncState
from leadgate.peer import inbound
from leadgate.processr import service as processr
from leadgate.processr.models import ProcessrJob
from leadgate.processr.registry import REGISTRY
from leadgate.worker.enqueue import TaskRef, enqueue_once

log = logging.getLogger(__name__)

# Defined in mirror.tasks (which calls into this module).
SYNC_MIRROR = TaskRef("leadgate.connect.sync_mirror", "connect")


def state_of(mirror: ConnectMirror | None) -> SyncState:
    """The sync state shown to users."""
    if mirror is None:
        return SyncState(
            state="pending", version=None, list_version=None, synced_at=None, last_error=None
        )
    age = (datetime.now(UTC) - mirror.synced_at).total_seconds() if mirror.synced_at else None
    return SyncState(
        state=mirror.state,
        version=mirror.version,
        list_version=mirror.list_version,
        synced_at=mirror.synced_at,
        last_error=mirror.last_error,
        age_s=round(age, 1) if age is not None else None,
        error_since=mirror.error_since,
        value_count=mirror.value_count,
        events=mirror.webhook_id is not None,
        values_hidden=mirror.encoding is not None,
    )


def sync_state(scope: TenantScope, job: ProcessrJob) -> SyncState:
    """How the mirror of this Connect job stands."""
    return state_of(repository.find(scope, job.id))


def connect_job(scope: TenantScope, campaign_id: int, job_id: int) -> ProcessrJob:
    """A Connect job of this campaign, or 404."""
    job = processr.get(scope, campaign_id, job_id)
    if job.type not in REGISTRY.names(reads_mirrors=True):
        raise NotFound(f"The job {job_id} is not a Connect job.", code="not_a_connect_job")
    return job


def on_saved(session: Session, job: ProcessrJob) -> None:
    """After a Connect job is created or changed: point its mirror and queue a sync."""
    syncing.ensure_mirror(session, job)
    queue_sync(session, job.id, reason="saved")


def queue_sync(session: Session, job_id: int, reason: str) -> None:
    """Queue one sync of the mirror (a sync already waiting covers this one too)."""
    enqueue_once(
        session, SYNC_MIRROR, queueing_lock=f"mirror-{job_id}", job_id=job_id, reason=reason
    )


def sync_now(scope: TenantScope, job: ProcessrJob, settings: Settings) -> SyncState:
    """Sync in the request and answer the state afterwards."""
    before = repository.find(scope, job.id)
    was = before.state if before else None
    mirror = syncing.sync(scope.session, job, settings)
    after_sync(scope.session, job, was, mirror)
    return state_of(mirror)


def after_sync(session: Session, job: ProcessrJob, was: str | None, mirror: ConnectMirror) -> None:
    """Leads waiting on this mirror are judged again once it can judge (or is gone).

    Not only on a change of state: a lead judged (waiting) while the mirror became ready in
    another transaction would otherwise wait for good; the next sync picks it up.
    """
    if mirror.state not in ("ok", "gone"):
        return
    waiting = leads.first_waiting_id(TenantScope(session, job.instance_id), job.campaign_id)
    if waiting is None and was == mirror.state:
        return
    enqueue_once(
        session,
        rejudge_waiting,
        queueing_lock=f"rejudge-{job.campaign_id}",
        campaign_id=job.campaign_id,
    )


def receive_event(
    session: Session, instance_id: int, job_id: int, body: bytes, headers: dict[str, str]
) -> bool:
    """Verify, record (once) and act on an event a client sent for one mirror.

    Returns False for a replay. Raises Unauthorized for a bad signature or timestamp and
    NotFound when the mirror no longer exists (the endpoint answers 410 so the client stops).
    """
    mirror = repository.find(TenantScope(session, instance_id), job_id)
    if mirror is None or not mirror.webhook_secret:
        raise NotFound(inbound.NOTHING_HERE, code="mirror_gone")
    source = f"mirror:{job_id}"
    event = inbound.verify(mirror.webhook_secret, body, headers, source)
    data = inbound.data_of(event, inbound.JobEventData)
    if data.job_id not in (None, mirror.remote_job_id):
        return False  # an event about another of the client's jobs
    if not inbound.record_once(session, instance_id, source, headers, event):
        return False
    if event.type == "job.updated":
        announced = (data.version, data.list_version)
        if mirror.state == "ok" and announced == (mirror.version, mirror.list_version):
            return True  # what we mirror already: nothing to pull
        # Events may arrive out of order: keep the newest versions any of them announced.
        mirror.announced_version = _newest(mirror.announced_version, data.version)
        mirror.announced_list_version = _newest(mirror.announced_list_version, data.list_version)
    queue_sync(session, job_id, reason=event.type)
    return True


def _newest(have: int | None, heard: int | None) -> int | None:
    if heard is None:
        return have
    return heard if have is None else max(have, heard)
