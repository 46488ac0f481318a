"""Background work of Connect mirrors: sync on events and on a schedule, re-judge waiting leads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import or_, select

from leadgate.config import get_settings
from leadgate.connect import service
from leadgate.connect import sync as syncing
from leadgate.connect.models import ConnectMirror
from leadgate.kit.repository import TenantScope
from leadgate.leads.models import Lead
from leadgate.processr.judging import judge
from leadgate.processr.models import ProcessrJob
from leadgate.worker.app import queue
from leadgate.worker.db import unit_of_work

REJUDGE_BATCH = 500


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


# croniter reads a sixth field as seconds: every 10 s.
@queue.periodic(cron="* * * * * */10", periodic_id="connect-poll")
@queue.task(name="leadgate.connect.poll", queue="connect", queueing_lock="connect-poll")
def poll(timestamp: int) -> int:
    """Every 10 s: queue a sync of each mirror not checked within the poll interval."""
    interval = timedelta(seconds=get_settings().sync_poll_interval_s)
    cutoff = datetime.now(UTC) - interval
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
