"""Queries on the audit log."""

from __future__ import annotations

from leadgate.audit.models import AuditEvent
from leadgate.kit.pagination import Page, paginate
from leadgate.kit.repository import TenantScope


def add(scope: TenantScope, event: AuditEvent) -> None:
    """Write an event in the scope's transaction."""
    scope.add(event)


def page(
    scope: TenantScope, limit: int, cursor: str | None, action: str | None
) -> Page[AuditEvent]:
    """The instance's events, newest first (of one kind of action when given)."""
    query = scope.select(AuditEvent)
    if action:
        query = query.where(AuditEvent.action.startswith(action))
    return paginate(
        scope.session,
        query,
        AuditEvent.id,
        limit=limit,
        cursor=cursor,
        to_item=lambda e: e,
        descending=True,
    )
