"""procrastinate: a task is enqueued in the request's transaction and run by the worker."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from leadgate.worker.app import queue
from leadgate.worker.enqueue import enqueue
from leadgate.worker.runner import run_worker
from leadgate.worker.tasks import ping


def _jobs(sessions: sessionmaker[Session], note: str) -> list[tuple[str, str]]:
    with sessions() as s:
        rows = s.execute(
            text("SELECT task_name, status FROM procrastinate_jobs WHERE args->>'note' = :n"),
            {"n": note},
        ).all()
    return [(r[0], r[1]) for r in rows]


def test_rollback_leaves_no_task(sessions: sessionmaker[Session]) -> None:
    with sessions() as s:
        enqueue(s, ping, note="rolled-back")
        s.rollback()
    assert _jobs(sessions, "rolled-back") == []


def test_commit_enqueues_and_worker_runs_it(
    sessions: sessionmaker[Session], database_url: str
) -> None:
    with sessions() as s:
        enqueue(s, ping, note="committed")
        assert _jobs(sessions, "committed") == []  # not visible before commit
        s.commit()
    assert _jobs(sessions, "committed") == [("leadgate.ping", "todo")]
    asyncio.run(run_worker(database_url, concurrency=1, wait=False))
    assert _jobs(sessions, "committed") == [("leadgate.ping", "succeeded")]


def test_worker_knows_every_task_and_schedule() -> None:
    queue.perform_import_paths()  # what the worker does on start
    names = {t.task.name for t in queue.periodic_registry.periodic_tasks.values()}
    assert {
        "leadgate.remove_old_jobs",
        "leadgate.rejudge_unjudged",
        "leadgate.connect.poll",
        "leadgate.stats.compact",
    } <= names
    assert {
        "leadgate.connect.sync_mirror",
        "leadgate.connect.rejudge_waiting",
        "leadgate.deliver_webhook",
    } <= set(queue.tasks)


@pytest.mark.parametrize("lock", ["same-lock"])
def test_queueing_lock_prevents_duplicates(sessions: sessionmaker[Session], lock: str) -> None:
    from procrastinate.exceptions import AlreadyEnqueued

    with sessions() as s:
        enqueue(s, ping, note="locked-1", queueing_lock=lock)
        with pytest.raises(AlreadyEnqueued):
            enqueue(s, ping, note="locked-2", queueing_lock=lock)
        s.rollback()
