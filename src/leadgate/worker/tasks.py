"""Housekeeping tasks of the queue itself (the domains' task modules are listed in plugins)."""

from __future__ import annotations

from procrastinate import JobContext

from leadgate.worker.app import queue

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
