"""Queries on leads and their history, and the intake's statements.

Everything is scoped to one instance (`TenantScope`) but for three deliberate exceptions, each
named `..._any_instance` and taking a bare session: the periodic re-judge's scans (tasks that
carry ids, not an instance), a reload of a lead the intake just wrote, and the date bounds of
the lead list (lead ids are one sequence for every instance, so a bound is a bound for all).
The intake's batched statements (`LOOKUP`, `EARLIER`, `WRITE`) serve submissions to many
instances at once: each row is tied to its instance through the key (LOOKUP), the key's
publisher (EARLIER) or the instance the lookup found (WRITE).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TypeVar, TypeVarTuple

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from leadgate.kit.pagination import Page, paginate
from leadgate.kit.repository import TenantScope
from leadgate.leads.models import Lead, LeadHistory

T = TypeVar("T")
Ts = TypeVarTuple("Ts")

# --- the intake's statements (raw SQL: the hot path, one parse per batch) -----------------------

# For each distinct (subdomain, key, campaign) of a batch: the key's publisher (live keys only),
# the campaign if it is granted to that publisher, the stamp of its jobs (ids, update times and
# inputs versions: the per-process judging view is rebuilt when it moves), whether it has jobs
# only the general driver runs, and the versions of the lists its jobs read.
LOOKUP = """
SELECT q.i, k.instance_id, k.publisher_id, k.id, c.id, c.name, c.status, c.fields,
       jobs.stamp, jobs.general, lists.versions
FROM jsonb_to_recordset(%(q)s::jsonb) AS q(i int, sub text, key_hash text, cid bigint)
JOIN instances n ON n.subdomain = q.sub
JOIN publisher_api_keys k
  ON k.instance_id = n.id AND k.key_hash = q.key_hash AND k.revoked_at IS NULL
LEFT JOIN campaign_publishers g
  ON g.instance_id = n.id AND g.publisher_id = k.publisher_id AND g.campaign_id = q.cid
LEFT JOIN campaigns c ON c.id = g.campaign_id AND c.instance_id = n.id
LEFT JOIN LATERAL (
    SELECT string_agg(j.id || '@' || j.updated_at || '.' || j.inputs_version, ','
                      ORDER BY j.id) AS stamp,
           coalesce(bool_or(j.type <> ALL(%(fast)s::text[])), false) AS general,
           array_agg((j.config ->> 'list_id')::bigint)
             FILTER (WHERE jsonb_typeof(j.config -> 'list_id') = 'number') AS list_ids
    FROM processr_jobs j WHERE j.campaign_id = c.id
) jobs ON true
LEFT JOIN LATERAL (
    SELECT jsonb_agg(jsonb_build_array(l.id, l.name, l.version)) AS versions
    FROM validation_lists l WHERE l.instance_id = n.id AND l.id = ANY(jobs.list_ids)
) lists ON true
"""

# The leads sent earlier with these (publisher, Idempotency-Key) pairs.
EARLIER = """
SELECT l.publisher_id, l.idempotency_key, l.id, l.status, l.score, l.max_score, l.flags,
       l.updated_at, l.request_hash, l.campaign_id
FROM jsonb_to_recordset(%(q)s::jsonb) AS q(publisher_id bigint, key text)
JOIN leads l ON l.publisher_id = q.publisher_id AND l.idempotency_key = q.key
"""

# One atomic statement writes a batch: ids drawn from the sequence in submission order, the
# leads (a key that another process stored meanwhile is skipped, not an error), and the history
# rows of the leads actually inserted, in order. The rows travel as JSON documents, so the
# statement is the same for any batch size and costs one parse.
WRITE = """
WITH src AS MATERIALIZED (
    SELECT nextval(pg_get_serial_sequence('leads', 'id')) AS id, u.*
    FROM jsonb_to_recordset(%(leads)s::jsonb) AS u(
        ord int, instance_id bigint, campaign_id bigint, publisher_id bigint, data jsonb,
        status text, score int, max_score int, flags jsonb, jobs jsonb, idempotency_key text,
        request_hash text, judged boolean)
    ORDER BY u.ord
), ins AS (
    INSERT INTO leads (id, instance_id, campaign_id, publisher_id, data, status, score,
                       max_score, flags, jobs, idempotency_key, request_hash, judged_at)
    SELECT id, instance_id, campaign_id, publisher_id, data, status, score, max_score, flags,
           jobs, idempotency_key, request_hash, CASE WHEN judged THEN now() END
    FROM src ORDER BY ord
    ON CONFLICT (publisher_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
    RETURNING id, updated_at
), hist AS (
    INSERT INTO lead_history (lead_id, event, detail)
    SELECT ins.id, h.event, h.detail
    FROM jsonb_to_recordset(%(history)s::jsonb) AS h(ord int, n int, event text, detail jsonb)
    JOIN src ON src.ord = h.ord
    JOIN ins ON ins.id = src.id
    ORDER BY h.n
)
SELECT src.id, ins.updated_at FROM src LEFT JOIN ins ON ins.id = src.id ORDER BY src.ord
"""

# --- one lead ----------------------------------------------------------------------------------


def get(scope: TenantScope, lead_id: int) -> Lead:
    """A lead of this instance, or 404 lead_not_found."""
    return scope.get(Lead, lead_id, missing="lead_not_found", what="lead")


def find_of_publisher(scope: TenantScope, publisher_id: int, lead_id: int) -> Lead | None:
    """The lead with this id if it is one of the publisher's in this instance."""
    return scope.session.scalars(
        scope.select(Lead).where(Lead.id == lead_id, Lead.publisher_id == publisher_id)
    ).one_or_none()


def leads_any_instance(session: Session, lead_ids: Sequence[int]) -> dict[int, Lead]:
    """Cross-instance (the intake reloading the leads it just wrote, of any instance): by id."""
    if not lead_ids:
        return {}
    return {lead.id: lead for lead in session.scalars(select(Lead).where(Lead.id.in_(lead_ids)))}


def history_of(scope: TenantScope, lead: Lead) -> Sequence[LeadHistory]:
    """The history of a lead (read through this scope), oldest first."""
    return scope.session.scalars(
        select(LeadHistory).where(LeadHistory.lead_id == lead.id).order_by(LeadHistory.id)
    ).all()


# --- the lead list (the API's and the pages') ---------------------------------------------------


def first_id_from_any_instance(session: Session, moment: datetime) -> int:
    """The smallest lead id created at or after `moment` (binary search over the primary key).

    Cross-instance on purpose: ids come from one sequence, so the bound holds for every instance.
    """
    low = session.scalar(select(func.min(Lead.id))) or 1
    high = (session.scalar(select(func.max(Lead.id))) or 0) + 1
    while low < high:
        middle = (low + high) // 2
        row = session.execute(
            select(Lead.id, Lead.created_at).where(Lead.id >= middle).order_by(Lead.id).limit(1)
        ).first()
        if row is None or row.created_at >= moment:
            high = middle
        else:
            low = row.id + 1
    return low


def _filtered(
    scope: TenantScope,
    query: Select[*Ts],
    *,
    campaign_id: int | None,
    publisher_id: int | None,
    since: datetime | None,
    before: datetime | None,
) -> Select[*Ts]:
    query = query.where(Lead.instance_id == scope.instance_id)
    if campaign_id is not None:
        query = query.where(Lead.campaign_id == campaign_id)
    if publisher_id is not None:
        query = query.where(Lead.publisher_id == publisher_id)
    if since is not None:
        query = query.where(Lead.id >= first_id_from_any_instance(scope.session, since))
    if before is not None:
        query = query.where(Lead.id < first_id_from_any_instance(scope.session, before))
    return query


def search(
    scope: TenantScope,
    *,
    campaign_id: int | None = None,
    status: str | None = None,
    publisher_id: int | None = None,
    since: datetime | None = None,
    before: datetime | None = None,
    limit: int,
    cursor: str | None,
    to_item: Callable[[Lead], T],
) -> Page[T]:
    """A page of the instance's leads, newest first, created in [since, before), filtered."""
    query = _filtered(
        scope,
        select(Lead),
        campaign_id=campaign_id,
        publisher_id=publisher_id,
        since=since,
        before=before,
    )
    if status is not None:
        query = query.where(Lead.status == status)
    if since is not None:
        query = query.where(Lead.created_at >= since)
    if before is not None:
        query = query.where(Lead.created_at < before)
    return paginate(
        scope.session, query, Lead.id, limit=limit, cursor=cursor, to_item=to_item, descending=True
    )


def status_counts(
    scope: TenantScope,
    *,
    campaign_id: int | None = None,
    publisher_id: int | None = None,
    since: datetime | None = None,
    before: datetime | None = None,
) -> dict[str, int]:
    """Leads per status (only the statuses that have any), from the indexes alone."""
    query = _filtered(
        scope,
        select(Lead.status, func.count()),
        campaign_id=campaign_id,
        publisher_id=publisher_id,
        since=since,
        before=before,
    ).group_by(Lead.status)
    return {status: int(n) for status, n in scope.session.execute(query).all()}


# --- leads waiting on a mirror, leads a crash left unjudged ------------------------------------


def first_waiting_id(scope: TenantScope, campaign_id: int) -> int | None:
    """The id of one lead of the campaign judged but still pending (waiting on a mirror)."""
    return scope.session.scalar(
        select(Lead.id)
        .where(
            Lead.instance_id == scope.instance_id,
            Lead.campaign_id == campaign_id,
            Lead.status == "pending",
            Lead.judged_at.is_not(None),
        )
        .limit(1)
    )


def waiting_any_instance(
    session: Session, campaign_id: int, after_id: int, limit: int
) -> Sequence[Lead]:
    """Cross-instance (a task carrying a campaign id): the campaign's next waiting leads, locked."""
    return session.scalars(
        select(Lead)
        .where(
            Lead.campaign_id == campaign_id,
            Lead.status == "pending",
            Lead.judged_at.is_not(None),
            Lead.id > after_id,
        )
        .order_by(Lead.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()


def unjudged_any_instance(session: Session, created_before: datetime, limit: int) -> list[Lead]:
    """Cross-instance (the periodic re-judge): leads never judged, oldest first, locked."""
    return list(
        session.scalars(
            select(Lead)
            .where(Lead.judged_at.is_(None), Lead.created_at < created_before)
            .order_by(Lead.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
