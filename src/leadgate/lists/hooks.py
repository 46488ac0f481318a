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


# Who could not work over a private list: each listener answers (job id, why) for its rows that
# need the raw values (a `contains` check); making the list private is refused while any do.
needs_raw_values: Hook[[TenantScope, int], list[tuple[int, str]]] = Hook("lists.needs_raw_values")


def raw_value_users(scope: TenantScope, list_id: int) -> list[tuple[int, str]]:
    """(job id, why) of everything that needs this list's raw values, by job id."""
    return sorted(found for answers in needs_raw_values(scope, list_id) for found in answers)
