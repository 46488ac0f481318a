"""Admin API: the instance's audit log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from leadgate.audit import service
from leadgate.audit.service import AuditOut
from leadgate.instances.deps import Admin, DbSession
from leadgate.kit.pagination import Page
from leadgate.kit.problems import problem_responses
from leadgate.kit.repository import TenantScope

router = APIRouter(tags=["audit"], responses=problem_responses(401, 422))


@router.get("/audit", response_model=Page[AuditOut])
def audit_log(
    caller: Admin,
    session: DbSession,
    action: Annotated[str | None, Query(max_length=64, description="e.g. job, key.revoked")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Page[AuditOut]:
    """Who changed a job, a list, a key, a grant or a user, when and from where; newest first."""
    scope = TenantScope(session, caller.instance_id)
    return service.page(scope, limit=limit, cursor=cursor, action=action)
