"""Pages: campaigns, their forms, their status, and which publishers may send leads."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from leadgate.campaigns import service
from leadgate.campaigns.models import Campaign
from leadgate.campaigns.schemas import (
    CampaignCreate,
    CampaignPatch,
    FieldsReplace,
    FieldType,
)
from leadgate.errors import InvalidRequest, LeadgateError
from leadgate.instances.deps import DbSession
from leadgate.kit.params import Id
from leadgate.kit.repository import TenantScope
from leadgate.publishers import service as publishers
from leadgate.ui.forms import Problems, attempt, from_error, from_validation
from leadgate.ui.templating import base_url, render, see_other
from leadgate.users.deps import AdminPost, AdminUser, scope_of

router = APIRouter()

FIELD_TYPES: list[tuple[FieldType, str]] = [
    ("text", "Text"),
    ("email", "Email"),
    ("phone", "Phone"),
    ("number", "Number"),
    ("select", "Choice from a list"),
    ("checkbox", "Yes / no"),
    ("date", "Date"),
]
STATUS_WORDS = {
    "active": "Active: accepts leads",
    "paused": "Paused: accepts no leads",
    "ended": "Ended: accepts no leads",
}


@router.get("/campaigns", response_class=HTMLResponse)
def campaigns_page(request: Request, me: AdminUser, session: DbSession) -> HTMLResponse:
    """Every campaign, and a form to start one."""
    return _list(request, me, scope_of(session, me))


def _list(
    request: Request,
    me: AdminUser,
    scope: TenantScope,
    *,
    problems: Problems | None = None,
    name: str = "",
    status: int = 200,
) -> HTMLResponse:
    rows = service.list_all(scope)
    grants = {c.id: 0 for c in rows}
    pubs = publishers.list_all(scope)
    for p in pubs:
        for cid in service.granted_ids(scope, p.id):
            grants[cid] = grants.get(cid, 0) + 1
    return render(
        request,
        "campaigns/list.html",
        {
            "title": "Campaigns",
            "campaigns": rows,
            "grants": grants,
            "status_words": STATUS_WORDS,
            "problems": problems or Problems(),
            "name": name,
        },
        me=me,
        status=status,
    )


@router.post("/campaigns", response_class=HTMLResponse, response_model=None)
def create_campaign(
    request: Request,
    me: AdminPost,
    session: DbSession,
    name: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """Start a campaign; its form is edited on the next page."""
    scope = scope_of(session, me)
    try:
        body = CampaignCreate(name=name.strip(), fields=[])
    except ValidationError as exc:
        return _list(request, me, scope, problems=from_validation(exc), name=name, status=422)
    campaign = service.create(scope, body)
    return see_other(f"{base_url(me.subdomain)}/campaigns/{campaign.id}?notice=created")


def _detail(
    request: Request,
    me: AdminUser,
    scope: TenantScope,
    campaign: Campaign,
    *,
    problems: Problems | None = None,
    rows: list[dict[str, Any]] | None = None,
    new_key: tuple[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    pubs = publishers.list_all(scope)
    granted = [p for p in pubs if campaign.id in service.granted_ids(scope, p.id)]
    problems = problems or Problems()
    count = len(rows) if rows is not None else len(campaign.fields)
    problems.settle(
        ["name", "publisher_id", "publisher_name"]
        + [
            f"fields.{i}{part}"
            for i in range(count)
            for part in ("", ".name", ".label", ".options")
        ]
    )
    return render(
        request,
        "campaigns/detail.html",
        {
            "title": campaign.name,
            "campaign": campaign,
            "rows": rows if rows is not None else [_row(f) for f in campaign.fields],
            "field_types": FIELD_TYPES,
            "status_words": STATUS_WORDS,
            "granted": granted,
            "grantable": [(str(p.id), p.name) for p in pubs if p not in granted],
            "problems": problems,
            "new_key": new_key,
        },
        me=me,
        status=status,
    )


def _row(field: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": field.get("name", ""),
        "label": field.get("label") or "",
        "type": field.get("type", "text"),
        "required": bool(field.get("required")),
        "options": "; ".join(field.get("options") or []),
    }


@router.get("/campaigns/{campaign_id}", response_class=HTMLResponse)
def campaign_page(
    request: Request, campaign_id: Id, me: AdminUser, session: DbSession
) -> HTMLResponse:
    """A campaign: its status, its form fields and its publishers."""
    scope = scope_of(session, me)
    return _detail(request, me, scope, service.get(scope, campaign_id))


@router.post("/campaigns/{campaign_id}/settings", response_class=HTMLResponse, response_model=None)
def rename(
    request: Request,
    campaign_id: Id,
    me: AdminPost,
    session: DbSession,
    name: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """Rename the campaign."""
    scope = scope_of(session, me)
    campaign = service.get(scope, campaign_id)
    try:
        body = CampaignPatch(name=name.strip())
    except ValidationError as exc:
        return _detail(request, me, scope, campaign, problems=from_validation(exc), status=422)
    service.patch(scope, campaign_id, body)
    return see_other(f"{base_url(me.subdomain)}/campaigns/{campaign_id}?notice=saved")


@router.post("/campaigns/{campaign_id}/status", response_class=RedirectResponse)
def set_status(
    campaign_id: Id,
    me: AdminPost,
    session: DbSession,
    status: Annotated[str, Form(max_length=20)] = "",
) -> RedirectResponse:
    """Pause, resume or end the campaign."""
    if status not in STATUS_WORDS:
        raise InvalidRequest("Choose active, paused or ended.")
    body = CampaignPatch.model_validate({"status": status})
    service.patch(scope_of(session, me), campaign_id, body)
    notice = {"active": "resumed", "paused": "paused", "ended": "ended"}[status]
    return see_other(f"{base_url(me.subdomain)}/campaigns/{campaign_id}?notice={notice}")


def posted_rows(form: FormData, prefix: str = "fields") -> list[dict[str, Any]]:
    """Field rows in the order the page shows them (rows are reordered without renaming)."""
    order: list[str] = []
    for key, _ in form.multi_items():
        parts = key.split(".")
        if len(parts) == 3 and parts[0] == prefix and parts[1] not in order:
            order.append(parts[1])
    rows = []
    for index in order:

        def get(name: str, index: str = index) -> str:
            value = form.get(f"{prefix}.{index}.{name}")
            return value.strip() if isinstance(value, str) else ""

        row = {
            "name": get("name"),
            "label": get("label"),
            "type": get("type") or "text",
            "required": get("required") == "true",
            "options": get("options"),
        }
        if get("remove") == "true" or not (row["name"] or row["label"]):
            continue
        rows.append(row)
    return rows


@router.post("/campaigns/{campaign_id}/fields", response_class=HTMLResponse, response_model=None)
async def save_fields(
    request: Request, campaign_id: Id, me: AdminPost, session: DbSession
) -> Response:
    """Replace the form's fields with the rows as shown (added, removed, reordered)."""
    rows = posted_rows(await request.form())
    fields = [
        {
            "name": r["name"],
            "label": r["label"] or None,
            "type": r["type"],
            "required": r["required"],
            "options": [o.strip() for o in r["options"].split(";") if o.strip()] or None,
        }
        for r in rows
    ]
    scope = scope_of(session, me)
    campaign = service.get(scope, campaign_id)
    try:
        body = FieldsReplace.model_validate({"fields": fields})
        with attempt(session):
            service.replace_fields(scope, campaign_id, body.fields)
    except ValidationError as exc:
        problems = from_validation(exc)
        return _detail(request, me, scope, campaign, problems=problems, rows=rows, status=422)
    except LeadgateError as exc:
        return _detail(
            request, me, scope, campaign, problems=from_error(exc), rows=rows, status=422
        )
    return see_other(f"{base_url(me.subdomain)}/campaigns/{campaign_id}?notice=saved#fields")


@router.post(
    "/campaigns/{campaign_id}/publishers", response_class=HTMLResponse, response_model=None
)
def grant(
    request: Request,
    campaign_id: Id,
    me: AdminPost,
    session: DbSession,
    publisher_id: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """Let a publisher send leads into this campaign."""
    scope = scope_of(session, me)
    if not publisher_id.isdigit():
        campaign = service.get(scope, campaign_id)
        problems = Problems(fields={"publisher_id": "Choose a publisher."})
        return _detail(request, me, scope, campaign, problems=problems, status=422)
    service.grant(scope, campaign_id, int(publisher_id))
    return see_other(f"{base_url(me.subdomain)}/campaigns/{campaign_id}?notice=granted#publishers")


@router.post(
    "/campaigns/{campaign_id}/publishers/{publisher_id}/revoke", response_class=RedirectResponse
)
def revoke(
    campaign_id: Id, publisher_id: Id, me: AdminPost, session: DbSession
) -> RedirectResponse:
    """Withdraw a publisher's access to this campaign."""
    service.revoke(scope_of(session, me), campaign_id, publisher_id)
    return see_other(f"{base_url(me.subdomain)}/campaigns/{campaign_id}?notice=revoked#publishers")


@router.post(
    "/campaigns/{campaign_id}/publishers/new", response_class=HTMLResponse, response_model=None
)
def new_publisher(
    request: Request,
    campaign_id: Id,
    me: AdminPost,
    session: DbSession,
    publisher_name: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """Create a publisher, grant it this campaign, and show its first API key once."""
    scope = scope_of(session, me)
    campaign = service.get(scope, campaign_id)
    label = publisher_name.strip()
    if not label or len(label) > 200:
        problems = Problems(fields={"publisher_name": "Give the publisher a name."})
        return _detail(request, me, scope, campaign, problems=problems, status=422)
    publisher = publishers.create(scope, label)
    service.grant(scope, campaign_id, publisher.id)
    key = publishers.issue_key(scope, publisher.id)
    return _detail(request, me, scope, campaign, new_key=(publisher.name, key.key))
