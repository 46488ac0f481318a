"""Pages: publishers and their keys (for admins), and the publisher portal (for their people).

The portal shows a publisher's person what its API key would see: the campaigns granted to it,
the rules the client made visible (the same view as the Publisher API), its own leads and its
keys; nothing else of the instance.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from leadgate.campaigns import repository as campaign_repository
from leadgate.campaigns import service as campaigns
from leadgate.errors import LeadgateError, NotFound
from leadgate.instances.deps import DbSession
from leadgate.kit.params import Id
from leadgate.kit.repository import TenantScope
from leadgate.leads import export
from leadgate.leads import service as leads
from leadgate.leads.pages import (
    STATUS_WORDS,
    LeadFilter,
    data_rows,
    find_leads,
    overrule_of,
    parse_filter,
)
from leadgate.processr import publisher_view
from leadgate.processr.registry import REGISTRY
from leadgate.publishers import repository as publisher_repository
from leadgate.publishers import service
from leadgate.publishers.models import Publisher
from leadgate.stats import service as stats
from leadgate.ui.forms import Problems
from leadgate.ui.templating import base_url, render, see_other
from leadgate.users import service as users
from leadgate.users.deps import AdminPost, AdminUser, PublisherPost, PublisherUser, scope_of

router = APIRouter()

# ---- admin pages ----


def _index(
    request: Request,
    me: AdminUser,
    scope: TenantScope,
    *,
    problems: Problems | None = None,
    status: int = 200,
) -> HTMLResponse:
    rows = service.list_all(scope)
    return render(
        request,
        "publishers/list.html",
        {
            "title": "Publishers",
            "publishers": rows,
            "campaign_counts": {p.id: len(campaigns.granted_ids(scope, p.id)) for p in rows},
            "problems": problems or Problems(),
        },
        me=me,
        status=status,
    )


@router.get("/publishers", response_class=HTMLResponse)
def publishers_page(request: Request, me: AdminUser, session: DbSession) -> HTMLResponse:
    """Every publisher of the instance, and a form for a new one."""
    return _index(request, me, scope_of(session, me))


@router.post("/publishers", response_class=HTMLResponse, response_model=None)
def create_publisher(
    request: Request,
    me: AdminPost,
    session: DbSession,
    name: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """A new publisher; its page then shows its first API key once."""
    scope = scope_of(session, me)
    label = name.strip()
    if not label or len(label) > 200:
        problems = Problems(fields={"name": "Give the publisher a name (up to 200 characters)."})
        return _index(request, me, scope, problems=problems, status=422)
    publisher = service.create(scope, label)
    key = service.issue_key(scope, publisher.id)
    return _detail(request, me, scope, publisher, new_key=key.key)


def _detail(
    request: Request,
    me: AdminUser,
    scope: TenantScope,
    publisher: Publisher,
    *,
    new_key: str | None = None,
    key_error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    people = [u for u in users.list_all(scope) if u.publisher_id == publisher.id]
    return render(
        request,
        "publishers/detail.html",
        {
            "title": publisher.name,
            "publisher": publisher,
            "keys": publisher_repository.keys_of(scope, publisher.id),
            "campaigns": campaigns.granted(scope, publisher.id),
            "people": people,
            "new_key": new_key,
            "key_error": key_error,
        },
        me=me,
        status=status,
    )


@router.get("/publishers/{publisher_id}", response_class=HTMLResponse)
def publisher_page(
    request: Request, publisher_id: Id, me: AdminUser, session: DbSession
) -> HTMLResponse:
    """A publisher: its API keys, campaigns and people."""
    scope = scope_of(session, me)
    return _detail(request, me, scope, service.get(scope, publisher_id))


@router.post("/publishers/{publisher_id}/keys", response_class=HTMLResponse)
def new_key(request: Request, publisher_id: Id, me: AdminPost, session: DbSession) -> HTMLResponse:
    """A new API key for the publisher, shown once."""
    scope = scope_of(session, me)
    publisher = service.get(scope, publisher_id)
    try:
        key = service.issue_key(scope, publisher_id)
    except LeadgateError as exc:
        return _detail(request, me, scope, publisher, key_error=exc.detail, status=409)
    return _detail(request, me, scope, publisher, new_key=key.key)


@router.post("/publishers/{publisher_id}/keys/{key_id}/revoke", response_class=RedirectResponse)
def revoke_key(publisher_id: Id, key_id: Id, me: AdminPost, session: DbSession) -> RedirectResponse:
    """Revoke a key at once."""
    service.revoke_key(scope_of(session, me), publisher_id, key_id)
    return see_other(f"{base_url(me.subdomain)}/publishers/{publisher_id}?notice=key_revoked")


# ---- the publisher portal ----


def _rules(scope: TenantScope, campaign_id: int) -> list[dict[str, Any]]:
    rows = []
    for job in publisher_view.visible_jobs(scope, campaign_id, None):
        d = publisher_view.definition(scope, job)
        rows.append({**d.model_dump(), "kind": REGISTRY.get(job.type).title})
    return rows


@router.get("/portal", response_class=HTMLResponse)
def portal(request: Request, me: PublisherUser, session: DbSession) -> HTMLResponse:
    """Your campaigns, their fields, and the rules the client shares with you."""
    scope = scope_of(session, me)
    assert me.publisher_id is not None
    granted = campaigns.granted(scope, me.publisher_id)
    period = stats.last_days(30)
    return render(
        request,
        "publishers/portal.html",
        {
            "title": "Your campaigns",
            "publisher": service.get(scope, me.publisher_id),
            "campaigns": [
                {
                    "campaign": c,
                    "rules": _rules(scope, c.id),
                    # The publisher's own numbers only, from the rollup.
                    "stats": stats.stats(
                        scope, period, campaign_id=c.id, publisher_id=me.publisher_id
                    ),
                }
                for c in granted
            ],
        },
        me=me,
    )


@router.get("/portal/leads", response_class=HTMLResponse)
def portal_leads(
    request: Request,
    me: PublisherUser,
    session: DbSession,
    campaign_id: str = "",
    status: str = "",
    date_from: str = "",
    date_to: str = "",
    cursor: str | None = None,
) -> HTMLResponse:
    """Your leads in this instance, newest first, with their statuses."""
    scope = scope_of(session, me)
    assert me.publisher_id is not None
    parsed = parse_filter(campaign_id, status, date_from, date_to)
    flt = LeadFilter(
        campaign_id=parsed.campaign_id,
        status=parsed.status,
        date_from=parsed.date_from,
        date_to=parsed.date_to,
        publisher_id=me.publisher_id,
    )
    granted = campaigns.granted(scope, me.publisher_id)
    return render(
        request,
        "publishers/portal_leads.html",
        {
            "title": "Your leads",
            "filter": flt,
            "page": find_leads(scope, flt, limit=50, cursor=cursor),
            "campaigns": granted,
            "campaign_names": {c.id: c.name for c in campaigns.list_all(scope)},
            "status_words": STATUS_WORDS,
            "first_page": cursor is None,
        },
        me=me,
    )


@router.get("/portal/leads/export.csv", response_class=StreamingResponse)
def portal_export(
    request: Request,
    me: PublisherUser,
    session: DbSession,
    campaign_id: str = "",
    status: str = "invalid",
    date_from: str = "",
    date_to: str = "",
) -> StreamingResponse:
    """Your leads as CSV (by default your invalid ones), with their flags and the reason a
    person gave: the same export as the admin API's, of your own leads only."""
    scope = scope_of(session, me)
    assert me.publisher_id is not None
    flt = parse_filter(campaign_id, status, date_from, date_to)
    granted = campaigns.granted(scope, me.publisher_id)
    if flt.campaign_id is not None and flt.campaign_id not in {c.id for c in granted}:
        raise NotFound("You send no leads into this campaign.", code="campaign_not_found")
    job = export.prepare(
        scope,
        campaign_id=flt.campaign_id,
        statuses=(flt.status,) if flt.status else (),
        publisher_id=me.publisher_id,
        since=flt.since,
        before=flt.before,
        seen=granted,
    )
    return StreamingResponse(
        export.stream(request.app.state.engine, job),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{export.filename(job)}"'},
    )


@router.get("/portal/leads/{lead_id}", response_class=HTMLResponse)
def portal_lead(
    request: Request, lead_id: Id, me: PublisherUser, session: DbSession
) -> HTMLResponse:
    """One of your leads: its status, score and why."""
    scope = scope_of(session, me)
    assert me.publisher_id is not None
    lead = leads.publisher_lead(scope, me.publisher_id, lead_id)
    campaign = campaign_repository.find(scope, lead.campaign_id)
    return render(
        request,
        "publishers/portal_lead.html",
        {
            "title": f"Lead {lead.id}",
            "lead": lead,
            "campaign": campaign,
            "data": data_rows(campaign, dict(lead.data)),
            "status_words": STATUS_WORDS,
            "overrule": overrule_of(leads.history(scope, lead), lead.status),
        },
        me=me,
    )


def _portal_keys(
    request: Request,
    me: PublisherUser,
    scope: TenantScope,
    new_key: str | None = None,
    *,
    key_error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    assert me.publisher_id is not None
    return render(
        request,
        "publishers/portal_keys.html",
        {
            "title": "Your API keys",
            "keys": publisher_repository.keys_of(scope, me.publisher_id),
            "new_key": new_key,
            "key_error": key_error,
        },
        me=me,
        status=status,
    )


@router.get("/portal/keys", response_class=HTMLResponse)
def portal_keys(request: Request, me: PublisherUser, session: DbSession) -> HTMLResponse:
    """Your API keys for this instance."""
    return _portal_keys(request, me, scope_of(session, me))


@router.post("/portal/keys", response_class=HTMLResponse)
def portal_new_key(request: Request, me: PublisherPost, session: DbSession) -> HTMLResponse:
    """A new API key for your publisher, shown once."""
    scope = scope_of(session, me)
    assert me.publisher_id is not None
    try:
        key = service.issue_key(scope, me.publisher_id)
    except LeadgateError as exc:
        return _portal_keys(request, me, scope, key_error=exc.detail, status=409)
    return _portal_keys(request, me, scope, new_key=key.key)


@router.post("/portal/keys/{key_id}/revoke", response_class=RedirectResponse, response_model=None)
def portal_revoke_key(key_id: Id, me: PublisherPost, session: DbSession) -> Response:
    """Revoke one of your keys at once."""
    assert me.publisher_id is not None
    try:
        service.revoke_key(scope_of(session, me), me.publisher_id, key_id)
    except NotFound:
        raise NotFound("You have no such key.", code="api_key_not_found") from None
    return see_other(f"{base_url(me.subdomain)}/portal/keys?notice=key_revoked")
