"""Background work of the lead lifecycle: leads a crash left unjudged, leads waiting on mirrors."""

from __future__ import annotations

from datetime import timedelta

from leadgate.config import get_settings
from leadgate.kit.repository import TenantScope
from leadgate.leads import repository
from leadgate.leads.lifecycle import rejudge, unjudged
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
    staleness = get_settings().connect_max_staleness_s
    with unit_of_work() as session:
        leads = unjudged(session, older_than)
        for lead in leads:
            scope = TenantScope(session, lead.instance_id)
            rejudge(scope, lead, reason="recovered after a crash", max_staleness_s=staleness)
    return len(leads)


REJUDGE_BATCH = 500


@queue.task(name="leadgate.connect.rejudge_waiting", queue="processr")
def rejudge_waiting(campaign_id: int) -> int:
    """Judge again the campaign's leads that were waiting (pending) on a mirror."""
    staleness = get_settings().connect_max_staleness_s
    done, last_id = 0, 0
    while True:
        with unit_of_work() as session:
            leads = repository.waiting_any_instance(session, campaign_id, last_id, REJUDGE_BATCH)
            for lead in leads:
                scope = TenantScope(session, lead.instance_id)
                rejudge(scope, lead, reason="client mirror ready", max_staleness_s=staleness)
        done += len(leads)
        if len(leads) < REJUDGE_BATCH:
            return done
        last_id = leads[-1].id
