"""The task queue's depth, for metrics: waiting and running jobs by queue."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

DEPTH = text(
    "SELECT queue_name, status::text, count(*) FROM procrastinate_jobs "
    "WHERE status IN ('todo', 'doing') GROUP BY 1, 2"
)


def depth(session: Session) -> dict[tuple[str, str], int]:
    """(queue, todo|doing) -> jobs."""
    return {(q, s): int(n) for q, s, n in session.execute(DEPTH)}
