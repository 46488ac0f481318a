"""Queries of the dashboards: the rollup's counts, and the Connect side's states.

Every query is scoped by instance (`TenantScope`) and reads few rows: the rollup holds one row
per (campaign, day, publisher, status, code), so 30 days of a campaign with a million leads
are a few thousand rows, read by primary-key range.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Select, and_, delete, func, select, text, tuple_, union_all
from sqlalchemy.orm import Session

from leadgate.delivery.models import Delivery, DeliveryConnection
from leadgate.kit.repository import TenantScope
from leadgate.mirror.models import ConnectMirror
from leadgate.processr.models import ProcessrJob
from leadgate.publishers.models import Publisher
from leadgate.stats.models import LEADS, LeadCount, LeadCountDelta

_KEY = ("instance_id", "campaign_id", "day", "publisher_id", "status", "code")
# One compaction at a time (an advisory lock of this number; any other holder waits its turn).
_COMPACT_LOCK = 7_014_001


@dataclass(frozen=True, slots=True)
class Counts:
    """The rollup of a period summed three ways: leads by (day, status), leads by (publisher
    (0: an admin's), status), and invalid leads by flag code."""

    by_day: dict[tuple[date, str], int]
    by_publisher: dict[tuple[int, str], int]
    by_code: dict[str, int]


def _part(
    model: type[LeadCount] | type[LeadCountDelta],
    scope: TenantScope,
    start: date,
    end: date,
    campaign_id: int | None,
    publisher_id: int | None,
) -> Select[date, int, str, str, int]:
    query = select(model.day, model.publisher_id, model.status, model.code, model.n).where(
        model.instance_id == scope.instance_id, model.day >= start, model.day <= end
    )
    if campaign_id is not None:
        query = query.where(model.campaign_id == campaign_id)
    if publisher_id is not None:
        query = query.where(model.publisher_id == publisher_id)
    return query


def counts(
    scope: TenantScope,
    start: date,
    end: date,
    *,
    campaign_id: int | None = None,
    publisher_id: int | None = None,
) -> Counts:
    """The rollup's counts of these days (both included), compacted and not yet compacted,
    summed by the database in one statement (grouping sets): the answer has a row per day and
    status, per publisher and status, and per flag code, however many rollup rows there are."""
    both = union_all(
        _part(LeadCount, scope, start, end, campaign_id, publisher_id),
        _part(LeadCountDelta, scope, start, end, campaign_id, publisher_id),
    ).subquery()
    leads = func.sum(both.c.n).filter(both.c.code == LEADS)
    rejected = func.sum(both.c.n).filter(both.c.status == "invalid", both.c.code != LEADS)
    query = select(both.c.day, both.c.publisher_id, both.c.status, both.c.code, leads, rejected)
    query = query.group_by(
        func.grouping_sets(
            tuple_(both.c.day, both.c.status),
            tuple_(both.c.publisher_id, both.c.status),
            both.c.code,
        )
    )
    out = Counts({}, {}, {})
    for day, pid, status, code, n_leads, n_rejected in scope.session.execute(query):
        if day is not None and n_leads:
            out.by_day[(day, status)] = int(n_leads)
        elif pid is not None and n_leads:
            out.by_publisher[(pid, status)] = int(n_leads)
        elif code is not None and code != LEADS and n_rejected:
            out.by_code[code] = int(n_rejected)
    return out


def compact(session: Session) -> int:
    """Fold the committed deltas into `lead_counts` (dropping keys that reach zero); how many
    keys moved. Intake transactions only append deltas, so this never waits on them."""
    got = session.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": _COMPACT_LOCK})
    if not got.scalar_one():
        return 0
    keys = ", ".join(_KEY)
    moved = session.execute(
        text(
            f"""
            WITH moved AS (DELETE FROM lead_count_deltas RETURNING {keys}, n)
            INSERT INTO lead_counts ({keys}, n)
            SELECT {keys}, sum(n) FROM moved GROUP BY {keys}
            ON CONFLICT ({keys}) DO UPDATE SET n = lead_counts.n + EXCLUDED.n
            RETURNING {keys}, n
            """
        )
    ).all()
    zeros = [tuple(row[: len(_KEY)]) for row in moved if row[-1] == 0]
    if zeros:
        columns = tuple_(*(getattr(LeadCount, k) for k in _KEY))
        session.execute(delete(LeadCount).where(columns.in_(zeros), LeadCount.n == 0))
    return len(moved)


@dataclass(frozen=True, slots=True)
class MirrorRow:
    """One Connect check's mirror of a client job."""

    job_id: int
    campaign_id: int
    label: str
    subdomain: str
    state: str
    version: int | None
    synced_at: datetime | None
    last_error: str | None


def mirrors(scope: TenantScope, campaign_id: int | None) -> list[MirrorRow]:
    """The mirrors of the instance's (or the campaign's) Connect checks, by job."""
    query = (
        select(
            ConnectMirror.job_id,
            ProcessrJob.campaign_id,
            ProcessrJob.label,
            ConnectMirror.subdomain,
            ConnectMirror.state,
            ConnectMirror.version,
            ConnectMirror.synced_at,
            ConnectMirror.last_error,
        )
        .join(ProcessrJob, ProcessrJob.id == ConnectMirror.job_id)
        .where(ConnectMirror.instance_id == scope.instance_id)
        .order_by(ProcessrJob.campaign_id, ProcessrJob.position, ConnectMirror.job_id)
    )
    if campaign_id is not None:
        query = query.where(ProcessrJob.campaign_id == campaign_id)
    return [MirrorRow(*row) for row in scope.session.execute(query)]


def delivery_jobs(scope: TenantScope, campaign_id: int | None) -> list[int]:
    """Ids of the instance's (or the campaign's) Connect delivery jobs."""
    query = (
        select(DeliveryConnection.job_id)
        .join(ProcessrJob, ProcessrJob.id == DeliveryConnection.job_id)
        .where(DeliveryConnection.instance_id == scope.instance_id)
    )
    if campaign_id is not None:
        query = query.where(ProcessrJob.campaign_id == campaign_id)
    return list(scope.session.scalars(query))


def delivery_states(scope: TenantScope, job_ids: Sequence[int]) -> dict[str, int]:
    """How many deliveries of these jobs wait (queued, held) or gave up (dead), by state."""
    if not job_ids:
        return {}
    query = (
        select(Delivery.state, func.count())
        .where(
            Delivery.instance_id == scope.instance_id,
            Delivery.job_id.in_(job_ids),
            Delivery.state.in_(("queued", "held", "dead")),
        )
        .group_by(Delivery.state)
    )
    return {state: int(n) for state, n in scope.session.execute(query)}


def client_verdicts(
    scope: TenantScope, job_ids: Sequence[int], since: datetime, before: datetime
) -> list[tuple[date, str | None, int]]:
    """Deliveries of these jobs delivered in [since, before), by UTC day and client status."""
    if not job_ids:
        return []
    day = func.date(func.timezone("UTC", Delivery.delivered_at)).label("day")
    query = (
        select(day, Delivery.client_status, func.count())
        .where(
            Delivery.instance_id == scope.instance_id,
            Delivery.job_id.in_(job_ids),
            and_(Delivery.delivered_at >= since, Delivery.delivered_at < before),
        )
        .group_by(day, Delivery.client_status)
    )
    return [(d, status, int(n)) for d, status, n in scope.session.execute(query)]


def publisher_names(scope: TenantScope, ids: Sequence[int]) -> dict[int, str]:
    """Names of these publishers of the instance."""
    if not ids:
        return {}
    query = select(Publisher.id, Publisher.name).where(
        Publisher.instance_id == scope.instance_id, Publisher.id.in_(ids)
    )
    return {pid: name for pid, name in scope.session.execute(query)}
