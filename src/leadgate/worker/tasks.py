"""Every task module, imported so the worker knows them, plus the housekeeping schedule."""

from __future__ import annotations

from procrastinate import JobContext

# Task modules of the domains, imported so the worker and the periodic scheduler know them.
from leadgate.connect import tasks as connect_tasks
from leadgate.processr import tasks as processr_tasks
from leadgate.webhooks import tasks as webhook_tasks
from leadgate.worker.app import queue

TASK_MODULES = (connect_tasks, processr_tasks, webhook_tasks)

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
