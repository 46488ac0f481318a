"""Enqueue a task inside the caller's transaction: rollback → no task, commit → the task runs."""

from __future__ import annotations

from typing import Any

from procrastinate import SyncPsycopgConnector
from procrastinate.manager import JobManager
from procrastinate.tasks import Task, configure_task
from procrastinate.types import TimeDeltaParams
from sqlalchemy.orm import Session

# Never opens a pool: every insert runs on the connection of the session handed in.
_jobs = JobManager(SyncPsycopgConnector())


def enqueue(
    session: Session,
    task: Task[Any, Any, Any],
    *,
    queueing_lock: str | None = None,
    lock: str | None = None,
    schedule_in: TimeDeltaParams | None = None,
    **kwargs: Any,
) -> int:
    """Insert a job for `task` on the session's connection; returns the job id."""
    connection = session.connection().connection.driver_connection
    deferrer = configure_task(
        name=task.name,
        job_manager=_jobs,
        connection=connection,
        queue=task.queue,
        queueing_lock=queueing_lock,
        lock=lock,
        schedule_in=schedule_in,
    )
    job_id: int = deferrer.defer(**kwargs)
    return job_id
