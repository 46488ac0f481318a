"""Background work of deliveries: drains per connection, the client's verdicts, the sweep."""

from __future__ import annotations

import asyncio
import contextlib
import time

from procrastinate import JobContext
from procrastinate.exceptions import ConnectorException
from procrastinate.jobs import Status

from leadgate.config import Settings, get_settings
from leadgate.delivery import repository
from leadgate.delivery import service as delivery
from leadgate.worker.app import queue
from leadgate.worker.db import unit_of_work
from leadgate.worker.runner import stalled_after

DRAIN_BUDGET_S = 20.0


@queue.task(name=delivery.DRAIN.name, queue=delivery.DRAIN.queue)
def drain(connection_id: int, slot: int = 0) -> int:
    """Send a connection's due deliveries in batches over one kept-alive client, a transaction
    per batch.

    Drains of one slot of a connection run one after the other (their jobs share a lock): a
    commit while one sends queues the next, which starts when it ends and takes everything
    committed meanwhile, so the busier the intake, the fuller the batches. Each batch claims
    its rows with FOR UPDATE SKIP LOCKED, so the other slots (`delivery_drains_per_connection`,
    queued when the backlog exceeds a batch) send beside it and each lead goes once. A drain
    works for at most DRAIN_BUDGET_S, then queues its successor; a retry that is not due yet
    gets a drain scheduled for when it is.
    """
    settings = get_settings()
    sent, done = _send_due(connection_id, settings)
    with unit_of_work() as session:
        if not done:
            delivery.queue_drain(session, connection_id)
        elif (wait := delivery.next_retry_in(session, connection_id)) is not None:
            delivery.queue_drain(session, connection_id, {"seconds": max(1, round(wait))})
    return sent


def _send_due(connection_id: int, settings: Settings) -> tuple[int, bool]:
    """Send batches until nothing is due (True) or the budget is spent (False)."""
    sent = 0
    deadline = time.monotonic() + DRAIN_BUDGET_S
    with delivery.Peers(settings) as peers:
        while time.monotonic() < deadline:
            with unit_of_work() as session:
                claimed = delivery.deliver_due(session, connection_id, settings, peers)
                if claimed == settings.delivery_batch_size:
                    delivery.spread(session, connection_id, settings)
            if claimed == 0:
                return sent, True
            sent += claimed
    return sent, False


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
            # It finished (or another sweep put it back) meanwhile, or a job of the same
            # queueing lock waits already and covers it: then it ends here, failed, so that
            # its lock no longer holds back the jobs behind it.
            with contextlib.suppress(ConnectorException):
                await manager.finish_job(job, status=Status.FAILED, delete_job=False)
    return retried + await asyncio.to_thread(_requeue_orphans, after)


def _requeue_orphans(after_s: float) -> int:
    with unit_of_work() as session:
        delivery.probe_paused(session, get_settings())
        orphans = repository.orphaned_connections_any_instance(
            session, after_s, delivery.DRAIN.name
        )
        for job_id in orphans:
            delivery.queue_drain(session, job_id)
        return len(orphans)
