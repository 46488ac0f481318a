"""Enqueue a task inside the caller's transaction: rollback → no task, commit → the task runs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from procrastinate import SyncPsycopgConnector
from procrastinate.exceptions import AlreadyEnqueued
from procrastinate.manager import JobManager
from procrastinate.tasks import configure_task
from procrastinate.types import TimeDeltaParams
from sqlalchemy.orm import Session


class TaskName(Protocol):
    """What enqueueing needs of a task: a procrastinate `Task`, or a `TaskRef` naming one."""

    @property
    def name(self) -> str: ...

    @property
    def queue(self) -> str: ...


@dataclass(frozen=True)
class TaskRef:
    """A task by name and queue: lets a service enqueue the task its own tasks module defines
    (`@queue.task(name=REF.name, queue=REF.queue)`) without importing that module."""

    name: str
    queue: str


# Never opens a pool: every insert runs on the connection of the session handed in.
_jobs = JobManager(SyncPsycopgConnector())


def enqueue(
    session: Session,
    task: TaskName,
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


def enqueue_once(
    session: Session, task: TaskName, *, queueing_lock: str, **kwargs: Any
) -> int | None:
    """Enqueue unless a job holding `queueing_lock` still waits; None when one does.

    The insert runs in a savepoint: a refused insert leaves the caller's transaction usable.
    """
    try:
        with session.begin_nested():
            return enqueue(session, task, queueing_lock=queueing_lock, **kwargs)
    except AlreadyEnqueued:
        return None
