"""Rendering pages: one Jinja2 environment, the layout's context, and plain-word notices."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

if TYPE_CHECKING:
    from leadgate.users.service import SignedIn

HERE = Path(__file__).parent
TEMPLATES = Jinja2Templates(directory=HERE / "templates")

# Notices travel as a key in the URL after a redirect, never as free text: nobody can make a
# page say something by crafting a link.
NOTICES = {
    "saved": "Saved.",
    "created": "Created.",
    "deleted": "Deleted.",
    "signed_out": "You are signed out.",
    "paused": "The campaign is paused: it accepts no new leads.",
    "resumed": "The campaign is active again.",
    "ended": "The campaign has ended: it accepts no new leads.",
    "granted": "The publisher can now send leads into this campaign.",
    "revoked": "Access removed.",
    "password_changed": "Your password is changed.",
    "moved": "Order changed.",
    "job_added": "The job is added.",
    "job_saved": "The job is saved.",
    "job_deleted": "The job is removed.",
    "values_changed": "The list is updated.",
    "made_private": "The list is private: publishers now get keyed hashes of its values only.",
    "made_public": "The list is public: publishers now get its values.",
    "key_rotated": "The list has a new key: every publisher re-syncs its hashes under it.",
    "status_changed": "The lead's status is changed.",
    "leads_marked": "The leads are marked; each lead's history says so.",
    "token_revoked": "The token no longer works.",
    "key_revoked": "The key no longer works.",
    "user_removed": "The user is removed.",
    "sync_ok": "Synced with the client.",
    "sync_failed": "The sync did not succeed: the job's sync state says why.",
    "sync_gone": "The client's job is gone: the job's sync state says what happens to leads.",
    "connection_paused": "Deliveries to the client are paused: new ones are held.",
    "connection_resumed": "Deliveries to the client resume; held ones go first.",
    "fields_pulled": "The client's form is pulled again; the mapping fits.",
    "fields_broken": "The client's form changed: fix the mapping (deliveries are held).",
    "retried": "The delivery is queued again.",
    "retried_all": "Every dead delivery of the campaign is queued again.",
}


def base_url(subdomain: str) -> str:
    """Where an instance's pages live."""
    return f"/i/{subdomain}/ui"


def when(value: datetime | None) -> str:
    """A timestamp as people read it, in UTC."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def ago(value: datetime | None) -> str:
    """How long ago, roughly ("3 min ago")."""
    if value is None:
        return "never"
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    seconds = int((datetime.now(UTC) - value).total_seconds())
    for unit, size in (("day", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            n = seconds // size
            return f"{n} {unit}{'s' if unit == 'day' and n > 1 else ''} ago"
    return "just now"


TEMPLATES.env.filters["when"] = when
TEMPLATES.env.filters["ago"] = ago


def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    me: SignedIn | None = None,
    subdomain: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    """A page inside the layout (navigation for `me`, their CSRF token in every form)."""
    sub = me.subdomain if me else subdomain
    notice = NOTICES.get(request.query_params.get("notice", ""))
    ctx = {
        "me": me,
        "subdomain": sub,
        "base": base_url(sub) if sub else "",
        "csrf_token": me.csrf_token if me else context.get("csrf_token", ""),
        "notice": notice,
        "path": request.url.path,
        **context,
    }
    return TEMPLATES.TemplateResponse(request, template, ctx, status_code=status)


def see_other(url: str) -> RedirectResponse:
    """Redirect after a form post, so reloading the next page does not post again."""
    return RedirectResponse(url, status_code=303)
