"""Pages: leads with filters and counts per status, one lead, and a person's verdict on it.

The list must stay fast with 100 000+ leads: pages are keyset-paginated (no OFFSET), and the
counts per status are one grouped query the (instance, campaign, status, id) indexes answer.
A date range is turned into a range of lead ids first (ids grow with time; ~20 primary-key
probes), so the counts never read the table itself. The queries are `leads.repository`'s
`search` and `status_counts`; the admin API lists leads with the same `search`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from leadgate.campaigns import repository as campaign_repository
from leadgate.campaigns import service as campaigns
from leadgate.campaigns.models import Campaign
from leadgate.errors import InvalidRequest
from leadgate.instances.deps import DbSession
from leadgate.kit.pagination import Page
from leadgate.kit.params import Id
from leadgate.kit.repository import TenantScope
from leadgate.leads import hooks, lifecycle, repository, service
from leadgate.leads.models import Lead
from leadgate.leads.schemas import HistoryOut, LeadOut, StatusChange
from leadgate.processr import repository as processr_repository
from leadgate.processr.registry import REGISTRY
from leadgate.publishers import service as publishers
from leadgate.ui.forms import Problems, from_validation
from leadgate.ui.templating import base_url, render, see_other
from leadgate.users.deps import AdminPost, AdminUser, scope_of

router = APIRouter()

PAGE_SIZE = 50
STATUS_WORDS = {
    "pending": "Pending: not judged yet",
    "valid": "Valid",
    "caution": "Caution: held for a person to check",
    "invalid": "Invalid",
    "test": "Test",
}
EVENT_WORDS = {
    "received": "Received",
    "transformed": "Values rewritten before checking",
    "judged": "Checked by the Processr",
    "waiting": "Waiting before it can be checked",
    "status_changed": "Status changed",
    "delivery_queued": "Queued for delivery",
    "delivered": "Delivered to the client",
    "delivery_failed": "Delivery gave up",
    "client_status_changed": "The client's verdict",
}
VIA_WORDS = {"event": "sent by the client", "poll": "found by asking the client"}


@dataclass(frozen=True)
class LeadFilter:
    """What the lead list shows: all optional; dates are whole days in UTC, both included."""

    campaign_id: int | None = None
    status: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    publisher_id: int | None = None

    @property
    def since(self) -> datetime | None:
        """The first instant of `date_from` (midnight UTC)."""
        return _midnight(self.date_from) if self.date_from is not None else None

    @property
    def before(self) -> datetime | None:
        """The first instant after `date_to` (midnight UTC of the next day)."""
        return _midnight(self.date_to + timedelta(days=1)) if self.date_to is not None else None

    def query_string(self, with_status: bool = True) -> str:
        """The filter as URL parameters (for pagination links)."""
        parts = []
        if self.campaign_id:
            parts.append(f"campaign_id={self.campaign_id}")
        if self.status and with_status:
            parts.append(f"status={self.status}")
        if self.date_from:
            parts.append(f"date_from={self.date_from.isoformat()}")
        if self.date_to:
            parts.append(f"date_to={self.date_to.isoformat()}")
        return "&".join(parts)


def parse_filter(campaign_id: str, status: str, date_from: str, date_to: str) -> LeadFilter:
    """The filter from the query string; anything unreadable is InvalidRequest."""
    try:
        cid = int(campaign_id) if campaign_id else None
        start = date.fromisoformat(date_from) if date_from else None
        end = date.fromisoformat(date_to) if date_to else None
    except ValueError:
        raise InvalidRequest("Dates are written as YYYY-MM-DD.") from None
    if status and status not in service.STATUSES:
        raise InvalidRequest(f"The status is one of {', '.join(service.STATUSES)}.")
    if cid is not None and not 1 <= cid < 2**63:
        raise InvalidRequest("There is no such campaign.")
    return LeadFilter(campaign_id=cid, status=status or None, date_from=start, date_to=end)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def find_leads(
    scope: TenantScope, flt: LeadFilter, *, limit: int, cursor: str | None
) -> Page[dict[str, Any]]:
    """A page of leads, newest first, with a short preview of each."""
    return repository.search(
        scope,
        campaign_id=flt.campaign_id,
        status=flt.status,
        publisher_id=flt.publisher_id,
        since=flt.since,
        before=flt.before,
        limit=limit,
        cursor=cursor,
        to_item=_item,
    )


def _item(lead: Lead) -> dict[str, Any]:
    data = lead.data or {}
    preview = next(
        (str(data[k]) for k in ("email", "company", "companyName", "name") if data.get(k)), ""
    )
    return {"summary": service.to_summary(lead), "preview": preview}


def status_counts(scope: TenantScope, flt: LeadFilter) -> dict[str, int]:
    """Leads per status under the filter (its status aside), from the indexes alone."""
    counts = {s: 0 for s in service.STATUSES}
    counts.update(
        repository.status_counts(
            scope,
            campaign_id=flt.campaign_id,
            publisher_id=flt.publisher_id,
            since=flt.since,
            before=flt.before,
        )
    )
    return counts


@router.get("/leads", response_class=HTMLResponse)
def leads_page(
    request: Request,
    me: AdminUser,
    session: DbSession,
    campaign_id: str = "",
    status: str = "",
    date_from: str = "",
    date_to: str = "",
    cursor: str | None = None,
) -> HTMLResponse:
    """Leads, newest first, filtered by campaign, status and dates, with counts per status."""
    scope = scope_of(session, me)
    flt = parse_filter(campaign_id, status, date_from, date_to)
    page = find_leads(scope, flt, limit=PAGE_SIZE, cursor=cursor)
    all_campaigns = campaigns.list_all(scope)
    return render(
        request,
        "leads/list.html",
        {
            "title": "Leads",
            "filter": flt,
            "page": page,
            "counts": status_counts(scope, flt),
            "campaigns": all_campaigns,
            "campaign_names": {c.id: c.name for c in all_campaigns},
            "publisher_names": {p.id: p.name for p in publishers.list_all(scope)},
            "status_words": STATUS_WORDS,
            "first_page": cursor is None,
        },
        me=me,
    )


def job_rows(scope: TenantScope, lead: LeadOut) -> list[dict[str, Any]]:
    """Each job's result on the lead, with the job's current label (the job may be gone)."""
    labels = processr_repository.job_labels(scope, [j.job_id for j in lead.jobs])
    out = []
    for j in lead.jobs:
        title = REGISTRY.get(j.type).title if j.type in REGISTRY else j.type
        out.append(
            {
                "label": labels.get(j.job_id, f"Job {j.job_id} (since removed)"),
                "type": title,
                "passed": j.passed,
                "mirror_version": j.mirror_version,
                "flags": [f.message for f in lead.flags if f.job_id == j.job_id],
            }
        )
    return out


# "Duplicate Check (job 7)" in the Processr's reasons (`processr.engine`): a type and a job id.
_JOB_IN_REASON = re.compile(r"(?:(?<=: )|(?<=, ))[^,:()]+ \(job (\d+)\)")


def job_ids_in_history(lead: LeadOut) -> list[int]:
    """The jobs the lead's history names by id (their labels make it readable)."""
    return sorted(
        {
            int(found)
            for h in lead.history
            for found in _JOB_IN_REASON.findall(str(h.detail.get("reason") or ""))
        }
    )


def _with_labels(reason: str, labels: Mapping[int, str]) -> str:
    """The reason with each job named by its label, where the job still exists."""

    def named(m: re.Match[str]) -> str:
        label = labels.get(int(m.group(1)))
        return f"“{label}”" if label else m.group(0)

    return _JOB_IN_REASON.sub(named, reason)


def history_rows(
    lead: LeadOut, publisher_name: str | None = None, labels: Mapping[int, str] | None = None
) -> list[dict[str, Any]]:
    """The lead's history in plain words (names and labels, not ids)."""
    labels = labels or {}
    out = []
    for h in lead.history:
        d = h.detail
        if h.event == "received":
            text = f"From {publisher_name}" if publisher_name else "From an admin (not a publisher)"
            hops = d.get("hops")
            if isinstance(hops, list) and hops:
                text += ", through " + ", ".join(str(i) for i in hops)
        elif h.event == "status_changed":
            who = d.get("user") or ("the Processr" if d.get("by") == "processr" else d.get("by"))
            text = f"From {d.get('from')} to {d.get('to')}" + (f" by {who}" if who else "")
            if d.get("reason"):
                text += f": {_with_labels(str(d['reason']), labels)}"
            if d.get("comment"):  # a verdict from the review queue (or bulk-status)
                text += f" ({d['comment']})"
        elif h.event == "client_status_changed":
            text = f"From {d.get('from') or 'none'} to {d.get('to')}"
            text += f" by {d['user']}" if d.get("user") else ""
            text += f": {d['reason']}" if d.get("reason") else ""
            via = str(d.get("via") or "")
            text += f" ({VIA_WORDS.get(via, via)})" if via else ""
        elif h.event == "transformed":
            fields = d.get("fields")
            fields = fields if isinstance(fields, dict) else {}
            text = "; ".join(
                f"{name}: {change.get('from')!r} to {change.get('to')!r}"
                for name, change in fields.items()
                if isinstance(change, dict)
            )
        elif h.event == "delivery_queued":
            ids = d.get("deliveries")
            text = ", ".join(f"#{i}" for i in ids) if isinstance(ids, list) else ""
        elif h.event == "delivery_failed":
            text = f"Delivery #{d.get('delivery_id')}: {d.get('error')}"
        elif h.event == "delivered":
            text = (
                f"Delivery #{d.get('delivery_id')}: the client's lead {d.get('client_lead_id')}, "
                f"judged {d.get('client_status')} there"
            )
        elif h.event in ("judged", "waiting"):
            text = f"Score {d.get('score')} of {d.get('max_score')}: {d.get('status')}"
            reason = _with_labels(str(d.get("reason") or ""), labels)
            if reason and not reason.startswith("score "):  # the score is said already
                text += f"; {reason}"
            if d.get("trigger") and d["trigger"] != "received":
                text += f" ({d['trigger']})"
        else:
            text = ", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in d.items() if v is not None)
        out.append({"at": h.at, "event": EVENT_WORDS.get(h.event, h.event), "text": text})
    return out


@dataclass(frozen=True)
class Overrule:
    """The person's (or the client's) verdict that set the lead's status over the Processr's."""

    status: str
    by: str  # "user" or "client"
    user: str
    reason: str
    at: datetime
    processr_status: str | None  # what the Processr had judged, if it judged


def overrule_of(history: Sequence[HistoryOut], status: str) -> Overrule | None:
    """The verdict behind the lead's status when a person or the client set it, else None."""
    processr_status = None
    found = None
    for h in history:
        d = h.detail
        if h.event == "judged":
            processr_status, found = str(d.get("status")), None
        elif h.event == "status_changed" and d.get("by") in ("user", "client"):
            found = Overrule(
                status=str(d.get("to")),
                by=str(d.get("by")),
                user=str(d.get("user") or ""),
                reason=str(d.get("reason") or ""),
                at=h.at,
                processr_status=processr_status,
            )
        elif h.event == "status_changed":
            found = None
    return found if found is not None and found.status == status else None


def data_rows(campaign: Campaign | None, data: dict[str, Any]) -> list[tuple[str, str, Any]]:
    """(key, label, value) in the form's order, then any other keys."""
    rows: list[tuple[str, str, Any]] = []
    seen = set()
    for f in campaign.fields if campaign else []:
        seen.add(f["name"])
        rows.append((f["name"], f.get("label") or f["name"], data.get(f["name"])))
    rows.extend((k, k, v) for k, v in data.items() if k not in seen)
    return rows


def _lead_page(
    request: Request,
    me: AdminUser,
    scope: TenantScope,
    lead_id: int,
    *,
    problems: Problems | None = None,
    reason: str = "",
    status: int = 200,
) -> HTMLResponse:
    lead = service.to_out(scope, service.get(scope, lead_id))
    campaign = campaign_repository.find(scope, lead.campaign_id)
    publisher = publishers.get(scope, lead.publisher_id) if lead.publisher_id else None
    return render(
        request,
        "leads/detail.html",
        {
            "title": f"Lead {lead.id}",
            "lead": lead,
            "campaign": campaign,
            "publisher": publisher,
            "data": data_rows(campaign, dict(lead.data)),
            "jobs": job_rows(scope, lead),
            "history": history_rows(
                lead,
                publisher.name if publisher else None,
                processr_repository.job_labels(scope, job_ids_in_history(lead)),
            ),
            "overrule": overrule_of(lead.history, lead.status),
            "deliveries": hooks.delivery_rows_of(scope, lead.id),
            "status_words": STATUS_WORDS,
            "problems": problems or Problems(),
            "reason": reason,
        },
        me=me,
        status=status,
    )


@router.get("/leads/{lead_id}", response_class=HTMLResponse)
def lead_page(request: Request, lead_id: Id, me: AdminUser, session: DbSession) -> HTMLResponse:
    """One lead: data, score, flags, per-job results, history, deliveries; mark it by hand."""
    return _lead_page(request, me, scope_of(session, me), lead_id)


@router.post("/leads/{lead_id}/verdict", response_class=HTMLResponse, response_model=None)
def verdict(
    request: Request,
    lead_id: Id,
    me: AdminPost,
    session: DbSession,
    status: Annotated[str, Form(max_length=20)] = "",
    reason: Annotated[str, Form(max_length=5000)] = "",
) -> Response:
    """Mark the lead valid or invalid with a reason; recorded in its history under your email."""
    scope = scope_of(session, me)
    if status not in ("valid", "invalid"):
        raise InvalidRequest("Choose valid or invalid.")
    try:
        body = StatusChange(reason=reason.strip(), user=me.email)
    except ValidationError as exc:
        problems = from_validation(exc)
        return _lead_page(request, me, scope, lead_id, problems=problems, reason=reason, status=422)
    lifecycle.set_status(scope, service.get(scope, lead_id), status, body.reason, body.user)
    return see_other(f"{base_url(me.subdomain)}/leads/{lead_id}?notice=status_changed")
