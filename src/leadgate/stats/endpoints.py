"""Admin API: the dashboards' numbers."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from leadgate.campaigns import service as campaigns
from leadgate.instances.deps import Admin, DbSession
from leadgate.kit.params import MAX_ID
from leadgate.kit.problems import problem_responses
from leadgate.kit.repository import TenantScope
from leadgate.stats import service
from leadgate.stats.schemas import StatsOut

router = APIRouter(tags=["stats"], responses=problem_responses(401, 404, 422))


@router.get("/stats", response_model=StatsOut)
def get_stats(
    caller: Admin,
    session: DbSession,
    campaign_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    from_: Annotated[
        str | None, Query(alias="from", max_length=10, description="first day, YYYY-MM-DD (UTC)")
    ] = None,
    to: Annotated[
        str | None, Query(max_length=10, description="last day, YYYY-MM-DD (UTC), included")
    ] = None,
) -> StatsOut:
    """Counts of the leads that came in the period (default: the last 7 days), by status, by
    publisher, by day, the top rejection reasons by flag code, and the Connect side."""
    scope = TenantScope(session, caller.instance_id)
    if campaign_id is not None:
        campaigns.get(scope, campaign_id)
    period = service.parse_period(from_, to)
    return service.stats(scope, period, campaign_id=campaign_id)
