"""What packages above leads add to a lead's answer and page (connected by `leadgate.plugins`)."""

from __future__ import annotations

from typing import Any

from leadgate.kit.hooks import Hook
from leadgate.kit.repository import TenantScope

# A lead's deliveries to clients as the API shows them: (scope, lead id) -> rows.
deliveries: Hook[[TenantScope, int], list[dict[str, Any]]] = Hook("leads.deliveries")

# The same for the lead's page (rows with the client's verdict in words).
delivery_rows: Hook[[TenantScope, int], list[Any]] = Hook("leads.delivery_rows")


def deliveries_of(scope: TenantScope, lead_id: int) -> list[dict[str, Any]]:
    """Every delivery of the lead, from each connected package."""
    return [row for rows in deliveries(scope, lead_id) for row in rows]


def delivery_rows_of(scope: TenantScope, lead_id: int) -> list[Any]:
    """Every delivery row for the lead's page."""
    return [row for rows in delivery_rows(scope, lead_id) for row in rows]
