"""What the lists domain announces to the packages above it (connected by `leadgate.plugins`)."""

from __future__ import annotations

from leadgate.kit.hooks import Hook
from leadgate.kit.repository import TenantScope

# A list's values changed (one new version); listeners tell whoever mirrors it.
values_changed: Hook[[TenantScope, int], None] = Hook("lists.values_changed")

# Who reads a list: each listener answers the ids of its rows (jobs) that use it.
used_by: Hook[[TenantScope, int], list[int]] = Hook("lists.used_by")


def users_of(scope: TenantScope, list_id: int) -> list[int]:
    """Ids of everything that reads this list (a list in use cannot be deleted)."""
    return sorted({i for ids in used_by(scope, list_id) for i in ids})
