"""Enqueue a task inside the caller's transaction: rollback → no task, commit → the task runs."""

from __future__ import annotations

import re
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


_NAME = re.compile(r"[A-Za-z0-9_.:-]+")


def enqueue_once_sql(task: TaskName, rows: str) -> str:
    """`enqueue_once` as SQL, for a statement that queues its work together with its rows.

    `rows` is a query (a CTE's name, say `SELECT ... FROM ins`) giving `queueing_lock text` and
    `args jsonb` (the task's keyword arguments); a lock that a waiting job holds already is
    skipped, as `enqueue_once` skips it. The insert wakes the workers like any other (the
    queue's own trigger sends the NOTIFY).
    """
    if not (_NAME.fullmatch(task.name) and _NAME.fullmatch(task.queue)):
        raise ValueError(f"not a task or queue name: {task.name!r}, {task.queue!r}")
    return (
        "INSERT INTO procrastinate_jobs (queue_name, task_name, queueing_lock, args) "
        f"SELECT '{task.queue}', '{task.name}', r.queueing_lock, r.args FROM ({rows}) AS r "
        "ON CONFLICT (queueing_lock) WHERE status = 'todo' DO NOTHING"
    )
