"""The worker's side of the rollup: fold its deltas every minute."""

from __future__ import annotations

from leadgate.stats import service
from leadgate.worker.app import queue
from leadgate.worker.db import unit_of_work


@queue.periodic(cron="* * * * *", periodic_id="compact-lead-counts")
@queue.task(name="leadgate.stats.compact", queue="housekeeping", queueing_lock="compact-counts")
def compact_counts(timestamp: int) -> int:
    """Every minute: fold the lead counts' deltas into the counts; how many were folded."""
    with unit_of_work() as session:
        return service.compact(session)
