"""Queries on deliveries, their connections and attempts (and the rows of other packages that a
delivery needs: its job, its lead).

Most take a `TenantScope`. The background work crosses instances on purpose: a task reloads its
row by id, a drain knows only its connection's id, the sweep and the status poll look at every
instance. Those take a bare session, say "Cross-instance" in their docstring and end in
`_any_instance`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Select, func, select, text
from sqlalchemy.orm import Session

from leadgate.delivery.models import Delivery, DeliveryAttempt, DeliveryConnection
from leadgate.kit.pagination import Page, paginate
from leadgate.kit.repository import TenantScope
from leadgate.leads.models import Lead, LeadHistory
from leadgate.processr.models import ProcessrJob
from leadgate.worker.enqueue import TaskRef, enqueue_once_sql

M = TypeVar("M")
T = TypeVar("T")

# Where the drain task is defined (delivery.tasks), named here so the statement below queues it.
DRAIN = TaskRef("leadgate.connect.drain", "deliveries")

# Deliveries for judged leads, in the transaction of their write (both intake drivers, a
# reprocess, a mark-valid): a row per (lead, delivery job) that has a client connection, once
# (a lead delivered already keeps its row), the lead's "delivery_queued" history, and one drain
# per connection unless one waits already. `%(judged)s`: [{instance_id, lead_id, campaign_id,
# job_id}]; the idempotency key is stable for the life of the row, so every retry sends it.
QUEUE_DELIVERIES = f"""
WITH wanted AS (
    SELECT w.*, 'leadgate-' || n.subdomain || '-l' || w.lead_id || '-j' || w.job_id AS key
    FROM jsonb_to_recordset(%(judged)s::jsonb)
         AS w(instance_id bigint, lead_id bigint, campaign_id bigint, job_id bigint)
    JOIN delivery_connections c ON c.job_id = w.job_id AND c.instance_id = w.instance_id
    JOIN instances n ON n.id = w.instance_id
), ins AS (
    INSERT INTO deliveries (instance_id, lead_id, job_id, campaign_id, state, attempts,
                            idempotency_key, client_flags)
    SELECT instance_id, lead_id, job_id, campaign_id, 'queued', 0, key, '[]'::jsonb
    FROM wanted ORDER BY lead_id, job_id
    ON CONFLICT (lead_id, job_id) DO NOTHING
    RETURNING id, lead_id, job_id
), hist AS (
    INSERT INTO lead_history (lead_id, event, detail)
    SELECT lead_id, 'delivery_queued', jsonb_build_object('deliveries', jsonb_agg(id ORDER BY id))
    FROM ins GROUP BY lead_id ORDER BY lead_id
), {
    enqueue_once_sql(
        DRAIN,
        "SELECT DISTINCT 'drain-' || job_id AS queueing_lock, 'drain-' || job_id AS lock,"
        " jsonb_build_object('connection_id', job_id) AS args FROM ins",
    )
}
"""

# The outcomes of one sent batch, in one statement: each delivery's new state, its attempt, and
# the lead's history entry ("delivered", "delivery_failed"; none for a retry). `rows` is JSON,
# one object per delivery with the delivery's every column after the attempt.
RECORD_OUTCOMES = text(
    """WITH o AS (
    SELECT * FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS o(
        id bigint, lead_id bigint, state text, attempts int, client_lead_id bigint,
        client_status text, client_score int, client_max_score int, client_flags jsonb,
        last_error text, delivered_at timestamptz, next_attempt_at timestamptz,
        status_code int, outcome text, error text, duration_ms int, event text, detail jsonb)
), done AS (
    UPDATE deliveries d SET state = o.state, attempts = o.attempts,
        client_lead_id = o.client_lead_id, client_status = o.client_status,
        client_score = o.client_score, client_max_score = o.client_max_score,
        client_flags = o.client_flags, last_error = o.last_error,
        delivered_at = o.delivered_at, next_attempt_at = o.next_attempt_at, updated_at = now()
    FROM o WHERE d.id = o.id
), tried AS (
    INSERT INTO delivery_attempts (delivery_id, status_code, outcome, error, duration_ms)
    SELECT id, status_code, outcome, error, duration_ms FROM o ORDER BY id
)
INSERT INTO lead_history (lead_id, event, detail)
SELECT lead_id, event, detail FROM o WHERE event IS NOT NULL ORDER BY id"""
)


def record_outcomes(session: Session, rows: str) -> None:
    """Store a sent batch's outcomes (RECORD_OUTCOMES) in one round trip."""
    session.execute(RECORD_OUTCOMES, {"rows": rows})


# Connections with a delivery waiting longer than `:after` seconds and no drain job to send it.
ORPHANED_CONNECTIONS = text(
    """SELECT DISTINCT d.job_id FROM deliveries d
                   WHERE d.state = 'queued'
                   AND coalesce(d.next_attempt_at, d.updated_at)
                       < now() - make_interval(secs => :after)
                   AND NOT EXISTS (
                       SELECT 1 FROM procrastinate_jobs j
                       WHERE j.task_name = :drain
                       AND j.status IN ('todo', 'doing')
                       AND (j.args->>'connection_id')::bigint = d.job_id)
                   LIMIT 1000"""
)


def _own(scope: TenantScope, model: type[M], row_id: int, *, lock: bool = False) -> M | None:
    # Session.get keeps the identity map (and its FOR UPDATE); the instance is checked after.
    # Locking refreshes a row already loaded unlocked (a drain reads its connection, sends, then
    # locks it to count the outcomes).
    row = scope.session.get(
        model, row_id, with_for_update=True if lock else None, populate_existing=lock
    )
    if row is None or row.instance_id != scope.instance_id:  # type: ignore[attr-defined]
        return None
    return row


# --- deliveries -------------------------------------------------------------------------------


def get(scope: TenantScope, delivery_id: int) -> Delivery:
    """A delivery of this instance, or 404 delivery_not_found."""
    return scope.get(Delivery, delivery_id, missing="delivery_not_found", what="delivery")


def deliveries_of_leads(scope: TenantScope, lead_ids: Sequence[int]) -> set[tuple[int, int]]:
    """(lead id, job id) of the deliveries these leads have already (one query)."""
    rows = scope.session.execute(
        select(Delivery.lead_id, Delivery.job_id).where(
            Delivery.instance_id == scope.instance_id, Delivery.lead_id.in_(lead_ids)
        )
    )
    return {(r.lead_id, r.job_id) for r in rows}


def for_lead(scope: TenantScope, lead_id: int) -> Sequence[Delivery]:
    """The lead's deliveries, oldest first."""
    return scope.session.scalars(
        scope.select(Delivery).where(Delivery.lead_id == lead_id).order_by(Delivery.id)
    ).all()


def of_client_lead(scope: TenantScope, job_id: int, client_lead_id: Any) -> Delivery | None:
    """The delivery of a job that made this lead at the client, if any."""
    return scope.session.scalars(
        scope.select(Delivery).where(
            Delivery.job_id == job_id, Delivery.client_lead_id == client_lead_id
        )
    ).first()


def held(scope: TenantScope, job_id: int) -> Sequence[Delivery]:
    """The held deliveries of a job, oldest first."""
    return scope.session.scalars(
        scope.select(Delivery)
        .where(Delivery.job_id == job_id, Delivery.state == "held")
        .order_by(Delivery.id)
    ).all()


def dead_of_campaign(scope: TenantScope, campaign_id: int) -> Sequence[Delivery]:
    """The dead deliveries of a campaign, oldest first."""
    return scope.session.scalars(
        scope.select(Delivery)
        .where(Delivery.campaign_id == campaign_id, Delivery.state == "dead")
        .order_by(Delivery.id)
    ).all()


def _filtered(
    scope: TenantScope,
    campaign_id: int | None = None,
    job_id: int | None = None,
    state: str | None = None,
) -> Select[Delivery]:
    query = scope.select(Delivery)
    if campaign_id is not None:
        query = query.where(Delivery.campaign_id == campaign_id)
    if job_id is not None:
        query = query.where(Delivery.job_id == job_id)
    if state is not None:
        query = query.where(Delivery.state == state)
    return query


def page(
    scope: TenantScope,
    to_item: Callable[[Delivery], T],
    *,
    campaign_id: int | None,
    state: str | None,
    limit: int,
    cursor: str | None,
) -> Page[T]:
    """A page of deliveries (as `to_item` makes them), newest first; campaign and state filter."""
    query = _filtered(scope, campaign_id=campaign_id, state=state)
    return paginate(
        scope.session,
        query,
        Delivery.id,
        limit=limit,
        cursor=cursor,
        to_item=to_item,
        descending=True,
    )


def newest(
    scope: TenantScope,
    *,
    campaign_id: int | None,
    job_id: int | None,
    state: str | None = None,
    except_state: str | None = None,
    before: int | None = None,
    limit: int,
) -> Sequence[Delivery]:
    """Deliveries newest first, in (or not in) a state, with an id below `before` when given."""
    query = _filtered(scope, campaign_id=campaign_id, job_id=job_id, state=state)
    if except_state is not None:
        query = query.where(Delivery.state != except_state)
    if before is not None:
        query = query.where(Delivery.id < before)
    return scope.session.scalars(query.order_by(Delivery.id.desc()).limit(limit)).all()


def count_by_state(
    scope: TenantScope, *, campaign_id: int | None = None, job_id: int | None = None
) -> dict[str, int]:
    """Deliveries per state (states without any left out), of a campaign and a job when given."""
    query = (
        select(Delivery.state, func.count())
        .where(Delivery.instance_id == scope.instance_id)
        .group_by(Delivery.state)
    )
    if campaign_id is not None:
        query = query.where(Delivery.campaign_id == campaign_id)
    if job_id is not None:
        query = query.where(Delivery.job_id == job_id)
    return {state: int(n) for state, n in scope.session.execute(query).all()}


def count_by_job_and_state(scope: TenantScope, job_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    """Deliveries per state of each of these jobs (one grouped query)."""
    out: dict[int, dict[str, int]] = {j: {} for j in job_ids}
    if not job_ids:
        return out
    rows = scope.session.execute(
        select(Delivery.job_id, Delivery.state, func.count())
        .where(Delivery.instance_id == scope.instance_id, Delivery.job_id.in_(job_ids))
        .group_by(Delivery.job_id, Delivery.state)
    ).all()
    for job_id, state, n in rows:
        out[job_id][state] = int(n)
    return out


def dead_per_campaign(scope: TenantScope, campaign_id: int | None = None) -> dict[int, int]:
    """Dead deliveries per campaign (of one campaign when given)."""
    query = (
        select(Delivery.campaign_id, func.count())
        .where(Delivery.instance_id == scope.instance_id, Delivery.state == "dead")
        .group_by(Delivery.campaign_id)
    )
    if campaign_id is not None:
        query = query.where(Delivery.campaign_id == campaign_id)
    return {int(c): int(n) for c, n in scope.session.execute(query).all()}


def attempts(scope: TenantScope, delivery_ids: Sequence[int]) -> Sequence[DeliveryAttempt]:
    """The attempts of these deliveries (of this instance: the caller's), oldest first."""
    return scope.session.scalars(
        select(DeliveryAttempt)
        .where(DeliveryAttempt.delivery_id.in_(delivery_ids))
        .order_by(DeliveryAttempt.id)
    ).all()


def lock_delivery_any_instance(session: Session, delivery_id: int) -> Delivery | None:
    """Cross-instance (a task reloads its row by id): the delivery, locked."""
    return session.get(Delivery, delivery_id, with_for_update=True)


def claim_due_any_instance(session: Session, job_id: int, limit: int) -> Sequence[Delivery]:
    """Cross-instance (a drain knows its connection's id): up to `limit` deliveries due now,
    oldest first, locked; rows another drain holds are skipped, not waited for."""
    return session.scalars(
        select(Delivery)
        .where(
            Delivery.job_id == job_id,
            Delivery.state == "queued",
            (Delivery.next_attempt_at.is_(None)) | (Delivery.next_attempt_at <= func.now()),
        )
        .order_by(Delivery.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()


def next_retry_at_any_instance(session: Session, job_id: int) -> datetime | None:
    """Cross-instance (a drain knows its connection's id): when its next retry is due."""
    return session.scalar(
        select(func.min(Delivery.next_attempt_at)).where(
            Delivery.job_id == job_id,
            Delivery.state == "queued",
            Delivery.next_attempt_at > func.now(),
        )
    )


def recently_delivered_any_instance(
    session: Session, since: datetime, limit: int
) -> Sequence[Delivery]:
    """Cross-instance (the status poll): delivered since `since`, least recently checked first."""
    return session.scalars(
        select(Delivery)
        .where(
            Delivery.state == "delivered",
            Delivery.delivered_at >= since,
            Delivery.client_lead_id.is_not(None),
        )
        .order_by(Delivery.status_checked_at.asc().nulls_first(), Delivery.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()


def orphaned_connections_any_instance(
    session: Session, after_s: float, drain_task: str
) -> list[int]:
    """Cross-instance (the sweep): connections with a delivery waiting and no drain queued."""
    rows = session.execute(ORPHANED_CONNECTIONS, {"after": after_s, "drain": drain_task}).all()
    return [job_id for (job_id,) in rows]


# --- connections ------------------------------------------------------------------------------


def connection(scope: TenantScope, job_id: int, *, lock: bool = False) -> DeliveryConnection | None:
    """The connection of a delivery job of this instance (None: it has none yet)."""
    return _own(scope, DeliveryConnection, job_id, lock=lock)


def connections(scope: TenantScope, job_ids: Sequence[int]) -> dict[int, DeliveryConnection]:
    """The connections of these jobs, by job id."""
    return {
        c.job_id: c
        for c in scope.session.scalars(
            select(DeliveryConnection).where(
                DeliveryConnection.instance_id == scope.instance_id,
                DeliveryConnection.job_id.in_(job_ids),
            )
        )
    }


def breaker_paused_any_instance(session: Session, before: datetime) -> Sequence[DeliveryConnection]:
    """Cross-instance (the sweep): connections the breaker paused before `before`, locked."""
    return session.scalars(
        select(DeliveryConnection)
        .where(
            DeliveryConnection.state == "paused",
            DeliveryConnection.paused_by == "breaker",
            DeliveryConnection.paused_at < before,
        )
        .with_for_update(skip_locked=True)
    ).all()


# --- the rows a delivery points at ------------------------------------------------------------


def job(scope: TenantScope, job_id: int) -> ProcessrJob | None:
    """A Processr job of this instance, if it still exists."""
    return _own(scope, ProcessrJob, job_id)


def jobs(scope: TenantScope, job_ids: Collection[int]) -> dict[int, ProcessrJob]:
    """These Processr jobs of this instance, by id."""
    return {
        j.id: j
        for j in scope.session.scalars(scope.select(ProcessrJob).where(ProcessrJob.id.in_(job_ids)))
    }


def connected_jobs(scope: TenantScope, job_ids: Sequence[int]) -> Sequence[ProcessrJob]:
    """Those of these jobs that have a client connection: the delivery jobs."""
    return scope.session.scalars(
        scope.select(ProcessrJob)
        .join(DeliveryConnection, DeliveryConnection.job_id == ProcessrJob.id)
        .where(ProcessrJob.id.in_(job_ids))
    ).all()


def leads(scope: TenantScope, lead_ids: Sequence[int]) -> dict[int, Lead]:
    """These leads of this instance that still exist, by id (one query)."""
    if not lead_ids:
        return {}
    rows = scope.session.scalars(scope.select(Lead).where(Lead.id.in_(lead_ids)))
    return {lead.id: lead for lead in rows}


def lead(scope: TenantScope, lead_id: int, *, lock: bool = False) -> Lead | None:
    """A lead of this instance, if it still exists (locked when asked)."""
    return _own(scope, Lead, lead_id, lock=lock)


def subscribed_any_instance(session: Session) -> Sequence[DeliveryConnection]:
    """Cross-instance (re-sealing every stored secret): connections holding an event secret."""
    return session.scalars(
        select(DeliveryConnection).where(DeliveryConnection.webhook_secret.is_not(None))
    ).all()


def counts_by_state_any_instance(session: Session) -> dict[str, int]:
    """Cross-instance (metrics): deliveries by state."""
    rows = session.execute(select(Delivery.state, func.count()).group_by(Delivery.state))
    return {state: int(n) for state, n in rows}


def arrived_via(scope: TenantScope, lead_ids: Sequence[int]) -> dict[int, tuple[str, ...]]:
    """The delivery path (`peer.hops`) each of these leads of this instance arrived with, for
    those that were delivered to us by another instance (the others have none)."""
    if not lead_ids:
        return {}
    rows = scope.session.execute(
        select(LeadHistory.lead_id, LeadHistory.detail["hops"])
        .join(Lead, Lead.id == LeadHistory.lead_id)
        .where(
            Lead.instance_id == scope.instance_id,
            LeadHistory.lead_id.in_(lead_ids),
            LeadHistory.event == "received",
            LeadHistory.detail.has_key("hops"),
        )
    ).all()
    return {
        lead_id: tuple(str(h) for h in hops) for lead_id, hops in rows if isinstance(hops, list)
    }
