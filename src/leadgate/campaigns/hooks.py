"""What the campaigns domain tells the packages above it (connected by `leadgate.plugins`)."""

from __future__ import annotations

from leadgate.kit.hooks import Hook
from leadgate.kit.repository import TenantScope

# A publisher gained (True) or lost (False) access to a campaign: (scope, campaign, publisher).
grant_changed: Hook[[TenantScope, int, int, bool], None] = Hook("campaigns.grant_changed")
