"""Pages of Connect deliveries: the list with filters and counts per state, dead letters first,
each with its attempts, last error and the client's verdict; retry one, or every dead one of a
campaign. The lead page shows a lead's deliveries through `lead_deliveries`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import ColumnElement, Select, func, select

from leadgate.campaigns import service as campaigns
from leadgate.connect import delivery
from leadgate.connect.models import Delivery, DeliveryAttempt
from leadgate.errors import InvalidRequest
from leadgate.instances.deps import DbSession
from leadgate.kit.params import Id
from leadgate.kit.repository import TenantScope
from leadgate.processr.models import ProcessrJob
from leadgate.ui.deps import AdminPost, AdminUser, scope_of
from leadgate.ui.templating import base_url, render, see_other

router = APIRouter()

PAGE_SIZE = 50
ATTEMPTS_SHOWN = 10
# The order of the state filter: what needs a person first.
DELIVERY_STATES = {
    "dead": "Dead letters: gave up, retry by hand",
    "held": "Held: connection paused or mapping broken",
    "queued": "Queued: on their way (or waiting for a retry)",
    "delivered": "Delivered",
}


@dataclass(frozen=True)
class DeliveryFilter:
    """What the deliveries page shows: all optional."""

    campaign_id: int | None = None
    job_id: int | None = None
    state: str | None = None

    def query_string(self, with_state: bool = True) -> str:
        """The filter as URL parameters."""
        parts = []
        if self.campaign_id:
            parts.append(f"campaign_id={self.campaign_id}")
        if self.job_id:
            parts.append(f"job_id={self.job_id}")
        if self.state and with_state:
            parts.append(f"state={self.state}")
        return "&".join(parts)


def _id(value: str, what: str) -> int | None:
    if not value:
        return None
    if not value.isdigit() or not 1 <= int(value) < 2**63:
        raise InvalidRequest(f"There is no such {what}.")
    return int(value)


def parse_filter(campaign_id: str, job_id: str, state: str) -> DeliveryFilter:
    """The filter from the query string (or a form); anything unreadable is InvalidRequest."""
    if state and state not in DELIVERY_STATES:
        raise InvalidRequest(f"The state is one of {', '.join(DELIVERY_STATES)}.")
    return DeliveryFilter(
        campaign_id=_id(campaign_id, "campaign"), job_id=_id(job_id, "job"), state=state or None
    )


@dataclass
class DeliveryRow:
    """A delivery as the pages show it: where it goes, and its attempts (latest last)."""

    delivery: Delivery
    job_label: str
    client: str
    campaign_name: str
    attempts: list[DeliveryAttempt] = field(default_factory=list)
    earlier_attempts: int = 0


def _filtered(scope: TenantScope, flt: DeliveryFilter) -> Select[Delivery]:
    query = scope.select(Delivery)
    if flt.campaign_id is not None:
        query = query.where(Delivery.campaign_id == flt.campaign_id)
    if flt.job_id is not None:
        query = query.where(Delivery.job_id == flt.job_id)
    return query


_CURSOR = re.compile(r"^(dead|rest|state)-(\d{1,19})$")


def find_deliveries(
    scope: TenantScope, flt: DeliveryFilter, *, limit: int, cursor: str | None
) -> tuple[list[Delivery], str | None]:
    """A page of deliveries, newest first; without a state filter the dead letters come first.

    Keyset pages in two runs (dead, then the rest), so no page reads the rows before it.
    """
    runs: list[tuple[str, ColumnElement[bool]]] = (
        [("state", Delivery.state == flt.state)]
        if flt.state
        else [("dead", Delivery.state == "dead"), ("rest", Delivery.state != "dead")]
    )
    start, after = 0, None
    if cursor:
        found = _CURSOR.fullmatch(cursor)
        kinds = [name for name, _ in runs]
        if not found or found.group(1) not in kinds:
            raise InvalidRequest("The cursor is not one this page handed out.")
        start, after = kinds.index(found.group(1)), int(found.group(2))
    rows: list[tuple[int, Delivery]] = []
    for index in range(start, len(runs)):
        query = _filtered(scope, flt).where(runs[index][1])
        if index == start and after is not None:
            query = query.where(Delivery.id < after)
        wanted = limit + 1 - len(rows)
        got = scope.session.scalars(query.order_by(Delivery.id.desc()).limit(wanted)).all()
        rows.extend((index, d) for d in got)
        if len(rows) > limit:
            break
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = f"{runs[rows[-1][0]][0]}-{rows[-1][1].id}" if more and rows else None
    return [d for _, d in rows], next_cursor


def state_counts(scope: TenantScope, flt: DeliveryFilter) -> dict[str, int]:
    """Deliveries per state under the filter (its state aside)."""
    query = (
        select(Delivery.state, func.count())
        .where(Delivery.instance_id == scope.instance_id)
        .group_by(Delivery.state)
    )
    if flt.campaign_id is not None:
        query = query.where(Delivery.campaign_id == flt.campaign_id)
    if flt.job_id is not None:
        query = query.where(Delivery.job_id == flt.job_id)
    counts = {s: 0 for s in DELIVERY_STATES}
    for state, n in scope.session.execute(query).all():
        counts[state] = int(n)
    return counts


def dead_per_campaign(scope: TenantScope, flt: DeliveryFilter) -> dict[int, int]:
    """Dead deliveries per campaign (for the "Retry all dead" buttons)."""
    query = (
        select(Delivery.campaign_id, func.count())
        .where(Delivery.instance_id == scope.instance_id, Delivery.state == "dead")
        .group_by(Delivery.campaign_id)
    )
    if flt.campaign_id is not None:
        query = query.where(Delivery.campaign_id == flt.campaign_id)
    return {int(c): int(n) for c, n in scope.session.execute(query).all()}


def delivery_rows(scope: TenantScope, deliveries: Sequence[Delivery]) -> list[DeliveryRow]:
    """Deliveries with their job, client, campaign and latest attempts (three queries)."""
    if not deliveries:
        return []
    ids = [d.id for d in deliveries]
    jobs = {
        j.id: j
        for j in scope.session.scalars(
            scope.select(ProcessrJob).where(ProcessrJob.id.in_({d.job_id for d in deliveries}))
        )
    }
    names = {c.id: c.name for c in campaigns.list_all(scope)}
    attempts: dict[int, list[DeliveryAttempt]] = {i: [] for i in ids}
    for a in scope.session.scalars(
        select(DeliveryAttempt)
        .where(DeliveryAttempt.delivery_id.in_(ids))
        .order_by(DeliveryAttempt.id)
    ):
        attempts[a.delivery_id].append(a)
    out = []
    for d in deliveries:
        job = jobs.get(d.job_id)
        log = attempts[d.id]
        out.append(
            DeliveryRow(
                delivery=d,
                job_label=job.label if job else f"Job {d.job_id}",
                client=str(job.config.get("Subdomain", "")) if job else "",
                campaign_name=names.get(d.campaign_id, f"Campaign {d.campaign_id}"),
                attempts=log[-ATTEMPTS_SHOWN:],
                earlier_attempts=max(0, len(log) - ATTEMPTS_SHOWN),
            )
        )
    return out


def lead_deliveries(scope: TenantScope, lead_id: int) -> list[DeliveryRow]:
    """A lead's deliveries with the client's answers, for the lead page."""
    rows = scope.session.scalars(
        scope.select(Delivery).where(Delivery.lead_id == lead_id).order_by(Delivery.id)
    ).all()
    return delivery_rows(scope, rows)


@router.get("/deliveries", response_class=HTMLResponse)
def deliveries_page(
    request: Request,
    me: AdminUser,
    session: DbSession,
    campaign_id: str = "",
    job_id: str = "",
    state: str = "",
    cursor: str | None = None,
) -> HTMLResponse:
    """Deliveries to clients, dead letters first; attempts, last error, the client's verdict."""
    scope = scope_of(session, me)
    flt = parse_filter(campaign_id, job_id, state)
    found, next_cursor = find_deliveries(scope, flt, limit=PAGE_SIZE, cursor=cursor)
    all_campaigns = campaigns.list_all(scope)
    return render(
        request,
        "connect/deliveries.html",
        {
            "title": "Deliveries",
            "filter": flt,
            "rows": delivery_rows(scope, found),
            "next_cursor": next_cursor,
            "first_page": cursor is None,
            "counts": state_counts(scope, flt),
            "dead": dead_per_campaign(scope, flt),
            "campaigns": all_campaigns,
            "campaign_names": {c.id: c.name for c in all_campaigns},
            "state_words": DELIVERY_STATES,
        },
        me=me,
    )


def _back(campaign_id: str, job_id: str, state: str) -> str:
    """The deliveries page a form came from (its filter, if it reads)."""
    try:
        qs = parse_filter(campaign_id, job_id, state).query_string()
    except InvalidRequest:
        qs = ""
    return qs + ("&" if qs else "")


@router.post("/deliveries/{delivery_id}/retry", response_class=RedirectResponse)
def retry_delivery(
    delivery_id: Id,
    me: AdminPost,
    session: DbSession,
    campaign_id: Annotated[str, Form(max_length=20)] = "",
    job_id: Annotated[str, Form(max_length=20)] = "",
    state: Annotated[str, Form(max_length=20)] = "",
) -> RedirectResponse:
    """Give a dead (or held) delivery a fresh set of attempts."""
    scope = scope_of(session, me)
    d = scope.get(Delivery, delivery_id, missing="delivery_not_found", what="delivery")
    if d.state not in ("dead", "held"):
        raise InvalidRequest(
            f"The delivery is {d.state}; only dead or held ones are retried.", code="not_retryable"
        )
    delivery.retry(session, [d])
    return see_other(
        f"{base_url(me.subdomain)}/deliveries?{_back(campaign_id, job_id, state)}notice=retried"
    )


@router.post("/campaigns/{campaign_id}/deliveries/retry-dead", response_class=RedirectResponse)
def retry_dead(campaign_id: Id, me: AdminPost, session: DbSession) -> RedirectResponse:
    """Retry every dead delivery of a campaign, oldest first."""
    scope = scope_of(session, me)
    campaign = campaigns.get(scope, campaign_id)
    dead = scope.session.scalars(
        scope.select(Delivery)
        .where(Delivery.campaign_id == campaign.id, Delivery.state == "dead")
        .order_by(Delivery.id)
    ).all()
    delivery.retry(session, list(dead))
    return see_other(
        f"{base_url(me.subdomain)}/deliveries?campaign_id={campaign.id}&notice=retried_all"
    )
