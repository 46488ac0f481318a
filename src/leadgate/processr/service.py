"""Running a campaign's Processr on a lead (placeholder until the engine lands)."""

from __future__ import annotations

from leadgate.kit.repository import TenantScope
from leadgate.leads.models import Lead
from leadgate.leads.service import record


def judge(scope: TenantScope, lead: Lead, reason: str = "received") -> Lead:
    """Judge the lead with its campaign's jobs; with no jobs it stays pending."""
    record(scope, lead, "waiting", reason="the campaign has no Processr jobs yet")
    scope.session.flush()
    return lead
