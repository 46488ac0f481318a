"""Running the procrastinate worker against a given database."""

from __future__ import annotations

import procrastinate

from leadgate.config import Settings, get_settings
from leadgate.db import libpq_url
from leadgate.worker.app import queue
from leadgate.worker.db import configure

# How the worker's own database connections name themselves (pg_stat_activity).
APPLICATION_NAME = "leadgate-worker"


def stalled_after(settings: Settings) -> float:
    """Seconds of silence after which a worker counts as dead (at least three heartbeats)."""
    return max(settings.stalled_after_s, 3 * settings.worker_heartbeat_s)


async def run_worker(
    database_url: str, *, concurrency: int = 4, wait: bool = True, own_signals: bool | None = None
) -> None:
    """Process queued tasks until stopped (or, with wait=False, until the queue is empty).

    `own_signals`: let the worker handle SIGINT/SIGTERM (when it runs alone); inside `serve`
    uvicorn owns the signals and stops the worker by cancelling it.
    """
    settings = get_settings()
    configure(database_url)
    connector = procrastinate.PsycopgConnector(
        conninfo=libpq_url(database_url), kwargs={"application_name": APPLICATION_NAME}
    )
    with queue.replace_connector(connector):
        async with queue.open_async():
            await queue.run_worker_async(
                concurrency=concurrency,
                wait=wait,
                install_signal_handlers=wait if own_signals is None else own_signals,
                name="leadgate-worker",
                update_heartbeat_interval=settings.worker_heartbeat_s,
                fetch_job_polling_interval=settings.worker_poll_s,
                stalled_worker_timeout=stalled_after(settings),
            )
