"""Housekeeping tasks of the queue itself (the domains' task modules are listed in plugins)."""

from __future__ import annotations

from procrastinate import JobContext

from leadgate.config import get_settings
from leadgate.kit.ratelimit import RateLimiter
from leadgate.worker.app import queue
from leadgate.worker.db import unit_of_work

# Finished queue jobs are only a log (rows of ours are the truth); frequent periodic ticks
# would otherwise pile up.
KEEP_FINISHED_JOBS_HOURS = 48


@queue.periodic(cron="17 3 * * *", periodic_id="remove-old-jobs")
@queue.task(name="leadgate.remove_old_jobs", queue="housekeeping", pass_context=True)
async def remove_old_jobs(context: JobContext, timestamp: int) -> None:
    """Daily: forget finished queue jobs older than two days."""
    await context.app.job_manager.delete_old_jobs(
        nb_hours=KEEP_FINISHED_JOBS_HOURS, include_cancelled=True, include_aborted=True
    )


@queue.task(name="leadgate.ping", queue="default")
def ping(note: str) -> str:
    """A no-op task: `leadgate worker` health checks and the transactional-enqueue test use it."""
    return note


@queue.periodic(cron="*/10 * * * *", periodic_id="prune-rate-counts")
@queue.task(name="leadgate.prune_rate_counts", queue="housekeeping", queueing_lock="prune-rate")
def prune_rate_counts(timestamp: int) -> None:
    """Every 10 minutes: forget the publisher limit's windows that ended long ago."""
    settings = get_settings()
    with unit_of_work() as session:
        RateLimiter(settings.rate_limit_requests, settings.rate_limit_window_s).prune(session)
