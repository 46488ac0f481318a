"""Enqueue a task inside the caller's transaction: rollback → no task, commit → the task runs."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Protocol

from procrastinate import SyncPsycopgConnector
from procrastinate.exceptions import AlreadyEnqueued
from procrastinate.manager import JobManager, get_channel_for_queues
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
    session: Session,
    task: TaskName,
    *,
    queueing_lock: str,
    lock: str | None = None,
    **kwargs: Any,
) -> int | None:
    """Enqueue unless a job holding `queueing_lock` still waits; None when one does. With
    `lock`, the job starts only once no earlier job holding the same lock waits or runs.

    The insert runs in a savepoint: a refused insert leaves the caller's transaction usable.
    """
    try:
        with session.begin_nested():
            return enqueue(session, task, queueing_lock=queueing_lock, lock=lock, **kwargs)
    except AlreadyEnqueued:
        return None


_NAME = re.compile(r"[A-Za-z0-9_.:-]+")
# How procrastinate wakes its workers: on the queue's channel and the one for every queue.
_ANY_QUEUE = tuple(get_channel_for_queues(None))
_WAKE = '{"type": "job_inserted", "job_id": null}'


def enqueue_once_sql(task: TaskName, rows: str) -> str:
    """`enqueue_once` as SQL, for a statement that queues its work together with its rows: the
    end of a `WITH` (the caller writes `WITH ..., {enqueue_once_sql(...)}`), answering one row,
    how many jobs it queued.

    `rows` is a query (a CTE's name, say `SELECT ... FROM ins`) giving `queueing_lock text`,
    `lock text` (NULL for none) and `args jsonb` (the task's keyword arguments); a queueing
    lock that a waiting job holds already is skipped, as `enqueue_once` skips it. A new job
    wakes the workers (the queue's own trigger sends the NOTIFY); so does a skipped one, when
    `rows` has any: the job that waits may hold a lock whose holder has ended since, and the
    workers look for jobs again only when woken (or at their poll).
    """
    if not (_NAME.fullmatch(task.name) and _NAME.fullmatch(task.queue)):
        raise ValueError(f"not a task or queue name: {task.name!r}, {task.queue!r}")
    wake = ", ".join(f"'{c}'" for c in (*get_channel_for_queues([task.queue]), *_ANY_QUEUE))
    return (
        "queued AS (INSERT INTO procrastinate_jobs (queue_name, task_name, queueing_lock, lock, "
        f"args) SELECT '{task.queue}', '{task.name}', r.queueing_lock, r.lock, r.args "
        f"FROM ({rows}) AS r ON CONFLICT (queueing_lock) WHERE status = 'todo' DO NOTHING "
        "RETURNING 1), "
        f"woken AS (SELECT pg_notify(c, '{_WAKE}') FROM unnest(ARRAY[{wake}]) AS c "
        f"WHERE EXISTS ({rows})) "
        "SELECT (SELECT count(*) FROM queued) AS queued, (SELECT count(*) FROM woken) AS woken"
    )
