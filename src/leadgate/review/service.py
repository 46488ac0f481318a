"""Reason categories, and people's verdicts on many leads at once.

A bulk change is all or nothing, in the caller's transaction: every lead is checked first
(an unknown reason, or a lead id this instance does not have, changes nothing), then one
statement marks them all (status, one history entry each, their keys), one statement queues
one `lead.status_changed` per lead for its publisher, and leads marked valid go on to their
campaign's integration jobs (a Connect lead is delivered), as a verdict of valid sends them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError

from leadgate.audit import service as audit
from leadgate.errors import Conflict, InvalidRequest, NotFound
from leadgate.kit.repository import TenantScope
from leadgate.leads import lifecycle
from leadgate.leads.keys import key_state
from leadgate.review import repository
from leadgate.review.models import ReasonCategory
from leadgate.review.schemas import (
    MAX_BULK,
    BulkItem,
    BulkResult,
    BulkStatus,
    LeadSelection,
    ReasonOut,
)
from leadgate.webhooks import service as webhooks

# --- reason categories ------------------------------------------------------------------------


def to_out(row: ReasonCategory) -> ReasonOut:
    """The API view of a category."""
    return ReasonOut(id=row.id, name=row.name)


def categories(scope: TenantScope) -> list[ReasonOut]:
    """The instance's reason categories, in the order they were added."""
    return [to_out(r) for r in repository.categories(scope)]


def _check_free(scope: TenantScope, name: str, keep: int | None = None) -> None:
    found = repository.category_named(scope, name)
    if found is not None and found.id != keep:
        raise Conflict(f"There is a reason {found.name!r} already.", code="reason_exists")


def add_category(scope: TenantScope, name: str) -> ReasonOut:
    """A new category at the end of the list; 409 reason_exists for a name taken (any case)."""
    _check_free(scope, name)
    row = ReasonCategory(name=name)
    scope.add(row)
    _flush(scope)
    audit.record(scope, "reason.created", f"reason {row.id} {name}")
    return to_out(row)


def rename_category(scope: TenantScope, category_id: int, name: str) -> ReasonOut:
    """Rename a category (leads marked with it keep the name they were marked with)."""
    row = repository.category(scope, category_id)
    _check_free(scope, name, keep=row.id)
    before, row.name = row.name, name
    _flush(scope)
    audit.record(scope, "reason.renamed", f"reason {row.id} {name}", before=before)
    return to_out(row)


def remove_category(scope: TenantScope, category_id: int) -> None:
    """Remove a category; the last one stays (409 reason_last): a verdict needs a reason."""
    row = repository.category(scope, category_id)
    if len(repository.categories(scope)) <= 1:
        raise Conflict(
            "This is the instance's last reason; add another before removing it.",
            code="reason_last",
        )
    scope.session.delete(row)
    scope.session.flush()
    audit.record(scope, "reason.removed", f"reason {row.id} {row.name}")


def _flush(scope: TenantScope) -> None:
    """Flush; a name another request took meanwhile is 409 reason_exists, not a 500."""
    try:
        with scope.session.begin_nested():
            scope.session.flush()
    except IntegrityError:
        raise Conflict("There is a reason with this name already.", code="reason_exists") from None


def known_reason(scope: TenantScope, name: str) -> str:
    """The category's name as stored, or 422 unknown_reason listing the known ones."""
    found = repository.category_named(scope, " ".join(name.split()))
    if found is None:
        known = [r.name for r in repository.categories(scope)]
        raise InvalidRequest(
            f"{name!r} is not one of this instance's reasons: {', '.join(known)}.",
            code="unknown_reason",
            reasons=known,
        )
    return found.name


# --- marking leads ----------------------------------------------------------------------------


def _utc(moment: datetime | None) -> datetime | None:
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment


def select(scope: TenantScope, flt: LeadSelection) -> list[int]:
    """The ids a filter selects (at most MAX_BULK, else 422 too_many_leads)."""
    ids = repository.selected_ids(
        scope,
        campaign_id=flt.campaign_id,
        publisher_id=flt.publisher_id,
        statuses=flt.status,
        since=_utc(flt.from_),
        before=_utc(flt.to),
        limit=MAX_BULK + 1,
    )
    if len(ids) > MAX_BULK:
        raise InvalidRequest(
            f"The filter selects more than {MAX_BULK} leads; narrow it down.",
            code="too_many_leads",
        )
    return ids


def _checked(scope: TenantScope, lead_ids: Sequence[int]) -> list[int]:
    """The ids, each once, sorted; 404 lead_not_found naming those this instance lacks."""
    wanted = sorted(set(lead_ids))
    missing = sorted(set(wanted) - repository.existing_ids(scope, wanted))
    if missing:
        shown = ", ".join(map(str, missing[:20])) + (" ..." if len(missing) > 20 else "")
        raise NotFound(
            f"No lead(s) {shown} in this instance; nothing was changed.",
            code="lead_not_found",
            lead_ids=missing,
        )
    return wanted


def event_reason(reason: str, comment: str | None) -> str:
    """The reason as the publisher's event carries it: the category, then the comment."""
    return f"{reason}: {comment}" if comment else reason


def bulk_status(scope: TenantScope, body: BulkStatus, user: str) -> BulkResult:
    """Mark the leads `body` picks (see the module's docstring); `user` when the body names
    nobody."""
    reason = known_reason(scope, body.reason)
    comment = body.comment.strip() if body.comment and body.comment.strip() else None
    who = body.user or user
    if body.lead_ids is not None:
        ids = _checked(scope, body.lead_ids)
    else:
        assert body.filter is not None
        ids = select(scope, body.filter)
    rows = repository.mark(
        scope,
        ids,
        status=body.status,
        reason=reason,
        comment=comment,
        user=who,
        key_state=key_state(body.status, "user"),
    )
    said = event_reason(reason, comment)
    events = [
        (r.publisher_id, {"lead_id": r.id, "status": body.status, "reason": said, "user": who})
        for r in rows
        if r.publisher_id is not None
    ]
    queued = webhooks.emit_each(scope, "lead.status_changed", events)
    if body.status == "valid":
        lifecycle.integrate_marked(scope, repository.data_of(scope, ids))
    audit.record(
        scope,
        "leads.status_changed",
        f"{len(rows)} leads",
        status=body.status,
        reason=reason,
        comment=comment,
        first_ids=ids[:20],
    )
    return BulkResult(
        status=body.status,
        reason=reason,
        count=len(rows),
        events=queued,
        items=[BulkItem(id=r.id, previous=r.previous, status=body.status) for r in rows],
    )
