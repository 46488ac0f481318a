"""Background work of mirrors: syncs (after a save, an event or a poll tick) and the poll."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from leadgate.config import get_settings
from leadgate.errors import NotFound
from leadgate.kit.repository import TenantScope
from leadgate.mirror import repository, service
from leadgate.mirror import sync as syncing
from leadgate.processr.registry import REGISTRY
from leadgate.worker.app import queue
from leadgate.worker.db import unit_of_work


@queue.task(name=service.SYNC_MIRROR.name, queue=service.SYNC_MIRROR.queue)
def sync_mirror(job_id: int, reason: str = "") -> str:
    """Sync one mirror with its client (events, saves and the poll all land here)."""
    with unit_of_work() as session:
        job = repository.job_any_instance(session, job_id)
        if job is None or job.type not in REGISTRY.names(reads_mirrors=True):
            return "job gone"
        before = repository.find(TenantScope(session, job.instance_id), job_id)
        was = before.state if before else None
        try:
            mirror = syncing.sync(session, job, get_settings())
        except NotFound:  # deleted while this sync waited for it
            return "job gone"
        service.after_sync(session, job, was, mirror)
        return mirror.state


POLL_TICK_S = 2


# croniter reads a sixth field as seconds: every POLL_TICK_S seconds.
@queue.periodic(cron=f"* * * * * */{POLL_TICK_S}", periodic_id="connect-poll")
@queue.task(name="leadgate.connect.poll", queue="connect", queueing_lock="connect-poll")
def poll(timestamp: int) -> int:
    """Queue a sync of each mirror that will be due before the next tick.

    Checking one tick early keeps a missed event's worst case at the poll interval (plus the
    sync itself) instead of interval + tick.
    """
    interval = get_settings().sync_poll_interval_s
    cutoff = datetime.now(UTC) - timedelta(seconds=max(0, interval - POLL_TICK_S))
    with unit_of_work() as session:
        due = repository.due_any_instance(session, cutoff, limit=1000)
        for job_id in due:
            service.queue_sync(session, job_id, reason="poll")
    return len(due)
