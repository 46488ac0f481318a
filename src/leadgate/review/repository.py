"""Queries on reason categories, and the statement that marks many leads at once.

Everything is scoped to one instance: the categories through `TenantScope`, the leads by the
`instance_id` condition of each statement (a lead id of another instance is simply not found).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, any_, bindparam, func, select
from sqlalchemy.dialects.postgresql import ARRAY

from leadgate.kit.repository import TenantScope
from leadgate.leads.models import Lead
from leadgate.review.models import ReasonCategory


def categories(scope: TenantScope) -> Sequence[ReasonCategory]:
    """The instance's reason categories, oldest first (`None` leads)."""
    return scope.session.scalars(scope.select(ReasonCategory).order_by(ReasonCategory.id)).all()


def category(scope: TenantScope, category_id: int) -> ReasonCategory:
    """A category of this instance, or 404 reason_not_found."""
    return scope.get(ReasonCategory, category_id, missing="reason_not_found", what="reason")


def category_named(scope: TenantScope, name: str) -> ReasonCategory | None:
    """The category with this name in any case, if any."""
    return scope.session.scalars(
        scope.select(ReasonCategory).where(func.lower(ReasonCategory.name) == name.lower())
    ).first()


def selected_ids(
    scope: TenantScope,
    *,
    campaign_id: int | None,
    publisher_id: int | None,
    statuses: Sequence[str],
    since: datetime | None,
    before: datetime | None,
    limit: int,
) -> list[int]:
    """Ids of the instance's leads under a filter, oldest first, at most `limit`."""
    query = select(Lead.id).where(Lead.instance_id == scope.instance_id)
    if campaign_id is not None:
        query = query.where(Lead.campaign_id == campaign_id)
    if publisher_id is not None:
        query = query.where(Lead.publisher_id == publisher_id)
    if statuses:
        query = query.where(Lead.status.in_(statuses))
    if since is not None:
        query = query.where(Lead.created_at >= since)
    if before is not None:
        query = query.where(Lead.created_at < before)
    return list(scope.session.scalars(query.order_by(Lead.id).limit(limit)))


def _among(ids: Sequence[int]) -> ColumnElement[bool]:
    """`leads.id = ANY(:ids)`: one array parameter however many ids."""
    return Lead.id == any_(bindparam("ids", list(ids), type_=ARRAY(BigInteger)))


def existing_ids(scope: TenantScope, lead_ids: Sequence[int]) -> set[int]:
    """Which of these ids are leads of this instance."""
    rows = scope.session.scalars(
        select(Lead.id).where(Lead.instance_id == scope.instance_id, _among(lead_ids))
    )
    return set(rows)


# Marks the leads in one statement: locked in id order (two bulk changes never wait for each
# other in a circle), their status written by a plain UPDATE of `leads` (so whatever follows
# `leads` by trigger sees it), one history entry each, their keys re-stated as
# `leads.keys.key_state` says. Answers each lead's status before.
MARK = """
WITH target AS MATERIALIZED (
    SELECT l.id, l.status AS previous, l.publisher_id, l.campaign_id
    FROM leads l
    WHERE l.instance_id = %(instance_id)s AND l.id = ANY(%(ids)s::bigint[])
    ORDER BY l.id
    FOR UPDATE
), changed AS (
    UPDATE leads l SET status = %(status)s, updated_at = now()
    FROM target t WHERE l.id = t.id AND l.instance_id = %(instance_id)s
    RETURNING l.id
), hist AS (
    INSERT INTO lead_history (lead_id, event, detail)
    SELECT t.id, 'status_changed', jsonb_strip_nulls(jsonb_build_object(
        'from', t.previous, 'to', %(status)s::text, 'reason', %(reason)s::text,
        'comment', %(comment)s::text, 'user', %(user)s::text, 'by', 'user'))
    FROM target t ORDER BY t.id
), keys AS (
    UPDATE lead_keys k SET state = %(key_state)s
    FROM target t WHERE k.lead_id = t.id AND k.instance_id = %(instance_id)s
)
SELECT t.id, t.previous, t.publisher_id, t.campaign_id FROM target t ORDER BY t.id
"""


def mark(scope: TenantScope, lead_ids: Sequence[int], **values: Any) -> list[Any]:
    """Run `MARK` (values: status, reason, comment, user, key_state); rows of
    (id, previous, publisher_id, campaign_id)."""
    params = {"instance_id": scope.instance_id, "ids": list(lead_ids), **values}
    return list(scope.session.connection().exec_driver_sql(MARK, params).all())


def data_of(scope: TenantScope, lead_ids: Sequence[int]) -> list[tuple[int, int, dict[str, Any]]]:
    """(id, campaign id, data) of these leads of the instance."""
    rows = scope.session.execute(
        select(Lead.id, Lead.campaign_id, Lead.data).where(
            Lead.instance_id == scope.instance_id, _among(lead_ids)
        )
    )
    return [(r.id, r.campaign_id, r.data) for r in rows]
