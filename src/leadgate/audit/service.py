"""Recording changes: one call beside each change, in its transaction, with who made it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from leadgate.audit import repository
from leadgate.audit.models import AuditEvent
from leadgate.kit.actor import actor_of
from leadgate.kit.pagination import Page
from leadgate.kit.repository import TenantScope


class AuditOut(BaseModel):
    """One change: who (a person's email, or which secret), from where, what, to what."""

    id: int
    at: datetime
    actor: str
    address: str
    action: str
    target: str
    detail: dict[str, Any]


def record(scope: TenantScope, action: str, target: str, **detail: Any) -> None:
    """Log a change made in this scope's transaction (rolled back with it)."""
    who = actor_of(scope.session)
    repository.add(
        scope,
        AuditEvent(
            actor=who.who[:300],
            address=who.address[:64],
            action=action,
            target=target[:300],
            detail=detail,
        ),
    )


def page(
    scope: TenantScope, *, limit: int = 50, cursor: str | None = None, action: str | None = None
) -> Page[AuditOut]:
    """The instance's changes, newest first."""
    found = repository.page(scope, limit, cursor, action)
    return Page[AuditOut](
        items=[AuditOut.model_validate(e, from_attributes=True) for e in found.items],
        next_cursor=found.next_cursor,
    )
