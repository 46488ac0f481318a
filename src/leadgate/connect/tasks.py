"""Background work of Connect mirrors: sync on events and on a schedule, re-judge waiting leads."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

from procrastinate import JobContext
from procrastinate.exceptions import ConnectorException
from sqlalchemy import or_, select, text

from leadgate.config import get_settings
from leadgate.connect import delivery, service
from leadgate.connect import sync as syncing
from leadgate.connect.models import ConnectMirror
from leadgate.kit.repository import TenantScope
from leadgate.leads.models import Lead
from leadgate.processr.judging import judge
from leadgate.processr.models import ProcessrJob
from leadgate.worker.app import queue
from leadgate.worker.db import unit_of_work
from leadgate.worker.runner import stalled_after

REJUDGE_BATCH = 500
DRAIN_LOCK = 724_310_002  # advisory lock class of delivery drains (with the connection id)


@queue.task(name="leadgate.connect.sync_mirror", queue="connect")
def sync_mirror(job_id: int, reason: str = "") -> str:
    """Sync one mirror with its client (events, saves and the poll all land here)."""
    with unit_of_work() as session:
        job = session.get(ProcessrJob, job_id)
        if job is None or job.type not in syncing.MIRRORED:
            return "job gone"
        before = session.get(ConnectMirror, job_id)
        was = before.state if before else None
        mirror = syncing.sync(session, job, get_settings())
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
        due = session.scalars(
            select(ConnectMirror.job_id)
            .where(or_(ConnectMirror.checked_at.is_(None), ConnectMirror.checked_at < cutoff))
            .limit(1000)
        ).all()
        for job_id in due:
            service.queue_sync(session, job_id, reason="poll")
    return len(due)


@queue.task(name="leadgate.connect.rejudge_waiting", queue="processr")
def rejudge_waiting(campaign_id: int) -> int:
    """Judge again the campaign's leads that were waiting (pending) on a mirror."""
    done, last_id = 0, 0
    while True:
        with unit_of_work() as session:
            leads = session.scalars(
                select(Lead)
                .where(
                    Lead.campaign_id == campaign_id,
                    Lead.status == "pending",
                    Lead.judged_at.is_not(None),
                    Lead.id > last_id,
                )
                .order_by(Lead.id)
                .limit(REJUDGE_BATCH)
                .with_for_update(skip_locked=True)
            ).all()
            for lead in leads:
                judge(TenantScope(session, lead.instance_id), lead, reason="client mirror ready")
        done += len(leads)
        if len(leads) < REJUDGE_BATCH:
            return done
        last_id = leads[-1].id


DRAIN_BUDGET_S = 20.0


@queue.task(name="leadgate.connect.drain", queue="deliveries")
def drain(connection_id: int) -> int:
    """Send a connection's due deliveries, oldest first, one transaction each.

    A drain works for at most DRAIN_BUDGET_S, then queues its successor; an advisory lock per
    connection keeps two drains from interleaving; a retry that is not due yet gets a drain
    scheduled for when it is.
    """
    settings = get_settings()
    sent = 0
    deadline = time.monotonic() + DRAIN_BUDGET_S
    while time.monotonic() < deadline:
        with unit_of_work() as session:
            if not session.scalar(
                text("SELECT pg_try_advisory_xact_lock(:k, :j)"),
                {"k": DRAIN_LOCK, "j": connection_id},
            ):
                return sent  # another drain of this connection is at work
            due = delivery.next_due(session, connection_id)
            if due is None:
                wait = delivery.next_retry_in(session, connection_id)
                if wait is not None:
                    delivery.queue_drain(session, connection_id, {"seconds": max(1, round(wait))})
                return sent
            delivery.deliver(session, due.id, settings)
        sent += 1
    with unit_of_work() as session:
        delivery.queue_drain(session, connection_id)
    return sent


@queue.periodic(cron="* * * * *", periodic_id="connect-status-poll")
@queue.task(
    name="leadgate.connect.poll_statuses", queue="connect", queueing_lock="connect-status-poll"
)
def poll_statuses(timestamp: int) -> int:
    """Every minute: fetch the client's verdicts of recently delivered leads."""
    with unit_of_work() as session:
        return delivery.poll_statuses(session, get_settings())


@queue.periodic(cron="* * * * * */15", periodic_id="delivery-sweep")
@queue.task(
    name="leadgate.connect.sweep",
    queue="deliveries",
    queueing_lock="delivery-sweep",
    pass_context=True,
)
async def sweep(context: JobContext, timestamp: int) -> int:
    """Every 15 s: put back work a crashed worker left behind.

    Jobs of workers that stopped sending heartbeats are retried; deliveries still `queued`
    without a job to send them (rows are the truth) get one again; connections the circuit
    breaker paused are probed and resumed when the client answers again.
    """
    manager = context.app.job_manager
    after = stalled_after(get_settings())
    retried = 0
    for job in await manager.get_stalled_jobs(seconds_since_heartbeat=after):
        if context.job is not None and job.id == context.job.id:
            continue
        try:
            await manager.retry_job(job)
            retried += 1
        except ConnectorException:
            pass  # it finished (or was retried by another sweep) meanwhile
    return retried + await asyncio.to_thread(_requeue_orphans, after)


def _requeue_orphans(after_s: float) -> int:
    with unit_of_work() as session:
        delivery.probe_paused(session, get_settings())
        orphans = session.execute(
            text(
                """SELECT DISTINCT d.job_id FROM deliveries d
                   WHERE d.state = 'queued'
                   AND coalesce(d.next_attempt_at, d.updated_at)
                       < now() - make_interval(secs => :after)
                   AND NOT EXISTS (
                       SELECT 1 FROM procrastinate_jobs j
                       WHERE j.task_name = 'leadgate.connect.drain'
                       AND j.status IN ('todo', 'doing')
                       AND (j.args->>'connection_id')::bigint = d.job_id)
                   LIMIT 1000"""
            ),
            {"after": after_s},
        ).all()
        for (job_id,) in orphans:
            delivery.queue_drain(session, job_id)
        return len(orphans)
