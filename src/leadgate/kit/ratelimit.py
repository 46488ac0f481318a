"""The publisher limit: at most `limit` requests per publisher in each fixed window of `window`
seconds, counted in PostgreSQL, so every API process and machine enforces one limit (a
publisher's keys share it: more keys are not more requests).

A batch of lead submissions costs one statement, whatever its size (`statement` + `waits`); any
other publisher request one (`hit`). The count is an upsert that commits at once on the intake's
autocommit connection, so batches of one publisher from several processes do not wait for each
other. Requests refused for the limit count too; the window's end lets them through again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import BigInteger, DateTime, Engine, Integer
from sqlalchemy.orm import Mapped, Session, mapped_column

from leadgate.db import Base


# Hits per publisher in the current window, from `source` (rows `h(p, n)`: publisher, hits);
# answers each publisher's new total and the seconds until its window ends. Publishers in id
# order: two batches lock their rows in the same order. The statement's own transaction
# commits without waiting for the WAL flush (`set_config(..., true)` is `SET LOCAL`): a count
# lost to a database crash costs nothing, the wait cost ~0.3 ms of every batch (a third of its
# time; bench/RESULTS.md). The intake's fast driver counts in its lookup (leads/repository.py).
def counting(source: str) -> str:
    """The upsert that counts the hits of `source`, a relation `h(p bigint, n int)`."""
    return f"""
INSERT INTO rate_counts (publisher_id, window_start, count)
SELECT h.p, to_timestamp(floor(extract(epoch FROM now()) / %(window)s) * %(window)s), h.n
FROM {source},
     (SELECT set_config('synchronous_commit', 'off', true)) AS no_flush_wait
ORDER BY h.p
ON CONFLICT (publisher_id, window_start) DO UPDATE SET count = rate_counts.count + EXCLUDED.count
RETURNING publisher_id, count,
          greatest(1, ceil(extract(epoch FROM window_start - now()) + %(window)s))::int AS reset_in
"""


HITS = counting("jsonb_to_recordset(%(hits)s::jsonb) AS h(p bigint, n int)")

# Windows that ended long ago (a periodic task runs it).
PRUNE = "DELETE FROM rate_counts WHERE window_start < now() - make_interval(secs => %(keep)s)"


class RateCount(Base):
    """Requests of one publisher in one window."""

    __tablename__ = "rate_counts"

    publisher_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    window_start: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, nullable=False)


class RateLimiter:
    """At most `limit` requests per publisher in each `window` seconds."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window

    def statement(self, counts: Mapping[int, int]) -> tuple[str, dict[str, Any]]:
        """The statement that counts these hits (publisher id -> requests)."""
        hits = [{"p": p, "n": n} for p, n in sorted(counts.items())]
        return HITS, {"hits": orjson.dumps(hits).decode(), "window": self.window}

    def waits(
        self, counts: Mapping[int, int], rows: Sequence[Sequence[Any]]
    ) -> dict[int, list[int | None]]:
        """Per publisher, for each of its hits in order: None (within the limit) or the seconds
        to wait (for Retry-After)."""
        out: dict[int, list[int | None]] = {}
        for publisher_id, total, reset_in in rows:
            n = counts[publisher_id]
            before = total - n
            out[publisher_id] = [
                None if before + i < self.limit else int(reset_in) for i in range(n)
            ]
        return out

    def hit(self, engine: Engine, publisher_id: int) -> int | None:
        """Count one request at once (its own autocommit statement: a request that fails later
        still counts); None when allowed, else the seconds to wait."""
        sql, params = self.statement({publisher_id: 1})
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            rows = connection.exec_driver_sql(sql, params).all()
        return self.waits({publisher_id: 1}, rows)[publisher_id][0]

    def prune(self, session: Session) -> None:
        """Forget windows that ended more than two windows ago."""
        session.connection().exec_driver_sql(PRUNE, {"keep": 3 * self.window})
