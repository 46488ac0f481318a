"""Background work of the Processr: re-judge leads a crash left unjudged."""

from __future__ import annotations

from datetime import timedelta

from leadgate.kit.repository import TenantScope
from leadgate.processr.judging import judge, unjudged
from leadgate.worker.app import queue
from leadgate.worker.db import unit_of_work

UNJUDGED_AFTER = timedelta(seconds=30)


@queue.periodic(cron="* * * * *", periodic_id="rejudge-unjudged")
@queue.task(name="leadgate.rejudge_unjudged", queue="processr", queueing_lock="rejudge-unjudged")
def rejudge_unjudged(timestamp: int) -> int:
    """Every minute: judge leads accepted more than 30 s ago that were never judged."""
    return rejudge_now(UNJUDGED_AFTER)


def rejudge_now(older_than: timedelta) -> int:
    """Judge up to 500 unjudged leads older than `older_than`; returns how many."""
    with unit_of_work() as session:
        leads = unjudged(session, older_than)
        for lead in leads:
            judge(TenantScope(session, lead.instance_id), lead, reason="recovered after a crash")
    return len(leads)
