"""Pages: sign in and out, your password, the instance's users and API tokens."""

from __future__ import annotations

import secrets
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from leadgate.audit import service as audit
from leadgate.errors import Conflict, LeadgateError, RateLimited
from leadgate.instances import repository as instances
from leadgate.instances.deps import DbSession, settings_of
from leadgate.instances.service import issue_admin_token, revoke_admin_token
from leadgate.kit.params import Id
from leadgate.kit.repository import TenantScope
from leadgate.kit.signing import Check, Signer
from leadgate.publishers import service as publishers
from leadgate.ui.forms import Problems, attempt, from_error, from_validation
from leadgate.ui.templating import base_url, render, see_other
from leadgate.users import service
from leadgate.users.deps import (
    SESSION_COOKIE,
    SIGN_IN_COOKIE,
    AdminPost,
    AdminUser,
    Me,
    MePost,
    cookie_path,
    scope_of,
)
from leadgate.users.schemas import PasswordChange, UserCreate

router = APIRouter()

Sub = Annotated[str, Path(description="The instance's subdomain.")]


def _home(subdomain: str, is_admin: bool) -> str:
    return f"{base_url(subdomain)}/{'campaigns' if is_admin else 'portal'}"


def _safe_next(subdomain: str, target: str) -> str | None:
    """Only a page of this instance: a sign-in link must not send people elsewhere."""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith(base_url(subdomain) + "/"):
        return None
    if "/sign-in" in parts.path or "/sign-out" in parts.path:
        return None
    return target


@router.get("/", response_class=RedirectResponse)
def home(me: Me) -> RedirectResponse:
    """The start page: campaigns for admins, the portal for publishers."""
    return RedirectResponse(_home(me.subdomain, me.is_admin), status_code=303)


SIGN_IN_FORM = "sign-in"
SIGN_IN_TTL_S = 3600


def _signer(request: Request) -> Signer:
    signer: Signer = request.app.state.signer
    return signer


def _sign_in_form(
    request: Request, subdomain: str, *, next_path: str, error: str | None, email: str, status: int
) -> Response:
    nonce = secrets.token_urlsafe(16)
    token = _signer(request).sign(SIGN_IN_FORM, subdomain, nonce, ttl_s=SIGN_IN_TTL_S)
    response = render(
        request,
        "users/sign_in.html",
        {
            "title": "Sign in",
            "csrf_token": token,
            "next": next_path,
            "error": error,
            "email": email,
        },
        subdomain=subdomain,
        status=status,
    )
    response.set_cookie(
        SIGN_IN_COOKIE,
        nonce,
        max_age=SIGN_IN_TTL_S,
        path=cookie_path(subdomain),
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    return response


@router.get("/sign-in", response_class=HTMLResponse)
def sign_in_page(request: Request, subdomain: Sub, next: str = "") -> Response:
    """The sign-in form."""
    return _sign_in_form(request, subdomain, next_path=next, error=None, email="", status=200)


@router.post("/sign-in", response_class=HTMLResponse)
def sign_in(
    request: Request,
    subdomain: Sub,
    session: DbSession,
    email: Annotated[str, Form(max_length=254)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    next: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Check the credentials and start a session (a cookie scoped to this instance)."""
    nonce = request.cookies.get(SIGN_IN_COOKIE, "")
    check = (
        _signer(request).check(csrf_token, SIGN_IN_FORM, subdomain, nonce)
        if nonce
        else Check.EXPIRED  # the cookie lives as long as the token: gone means expired
    )
    if check is not Check.OK:
        error = (
            "The sign-in form had expired. Please enter your email and password again."
            if check is Check.EXPIRED
            else "The sign-in form was not the one this page gave your browser (its security "
            "token does not match), so nothing was checked. Please enter your email and "
            "password again."
        )
        return _sign_in_form(
            request, subdomain, next_path=next, error=error, email=email, status=403
        )
    try:
        user = service.check_credentials(
            session,
            subdomain,
            email,
            password,
            client=request.client.host if request.client else "",
            throttle=service.Throttle.of(settings_of(request)),
        )
    except RateLimited as exc:
        response = _sign_in_form(
            request, subdomain, next_path=next, error=exc.detail, email=email, status=429
        )
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    except LeadgateError as exc:
        return _sign_in_form(
            request, subdomain, next_path=next, error=exc.detail, email=email, status=401
        )
    token = service.start_session(session, user)
    target = _safe_next(subdomain, next) or _home(subdomain, user.role == "admin")
    response = see_other(target)
    response.delete_cookie(SIGN_IN_COOKIE, path=cookie_path(subdomain))
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(service.SESSION_TTL.total_seconds()),
        path=cookie_path(subdomain),
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    return response


@router.post("/sign-out", response_class=RedirectResponse)
def sign_out(request: Request, me: MePost, session: DbSession) -> RedirectResponse:
    """End the session: the cookie is worthless afterwards, even if kept."""
    service.end_session(session, request.cookies.get(SESSION_COOKIE))
    response = see_other(f"{base_url(me.subdomain)}/sign-in?notice=signed_out")
    response.delete_cookie(SESSION_COOKIE, path=cookie_path(me.subdomain))
    return response


@router.get("/password", response_class=HTMLResponse)
def password_page(request: Request, me: Me) -> HTMLResponse:
    """Change your own password (first thing after a one-time password)."""
    return render(
        request, "users/password.html", {"title": "Your password", "problems": Problems()}, me=me
    )


@router.post("/password", response_class=HTMLResponse, response_model=None)
def change_password(
    request: Request,
    me: MePost,
    session: DbSession,
    current_password: Annotated[str, Form(max_length=1000)] = "",
    new_password: Annotated[str, Form(max_length=1000)] = "",
    confirm_password: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """Check the current password, set the new one, end your other sessions."""
    problems = Problems()
    try:
        body = PasswordChange(
            current_password=current_password,
            new_password=new_password,
            confirm_password=confirm_password,
        )
    except ValidationError as exc:
        problems = from_validation(exc)
    else:
        if body.new_password != body.confirm_password:
            problems.add("confirm_password", "The two new passwords differ.")
        else:
            try:
                with attempt(session):
                    service.change_password(
                        scope_of(session, me),
                        me.user_id,
                        body.current_password,
                        body.new_password,
                        keep_token=request.cookies.get(SESSION_COOKIE),
                    )
            except LeadgateError as exc:
                problems = from_error(exc)
    if problems:
        return render(
            request,
            "users/password.html",
            {"title": "Your password", "problems": problems},
            me=me,
            status=422,
        )
    return see_other(f"{_home(me.subdomain, me.is_admin)}?notice=password_changed")


def _users_page(
    request: Request,
    me: AdminUser,
    scope: TenantScope,
    *,
    problems: Problems | None = None,
    created: tuple[str, str] | None = None,
    form: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    pubs = {p.id: p.name for p in publishers.list_all(scope)}
    return render(
        request,
        "users/users.html",
        {
            "title": "Users",
            "users": [service.to_out(u) for u in service.list_all(scope)],
            "publishers": pubs,
            "problems": problems or Problems(),
            "created": created,
            "form": form or {},
        },
        me=me,
        status=status,
    )


@router.get("/users", response_class=HTMLResponse)
def users_page(request: Request, me: AdminUser, session: DbSession) -> HTMLResponse:
    """The instance's users: admins and publishers' people."""
    return _users_page(request, me, scope_of(session, me))


@router.post("/users", response_class=HTMLResponse)
def create_user(
    request: Request,
    me: AdminPost,
    session: DbSession,
    email: Annotated[str, Form(max_length=1000)] = "",
    role: Annotated[str, Form(max_length=20)] = "admin",
    publisher_id: Annotated[str, Form(max_length=20)] = "",
) -> HTMLResponse:
    """Add a user; their one-time password is shown once, here."""
    scope = scope_of(session, me)
    form = {"email": email, "role": role, "publisher_id": publisher_id}
    try:
        body = UserCreate.model_validate(
            {"email": email, "role": role, "publisher_id": publisher_id or None}
        )
    except ValidationError as exc:
        problems = from_validation(exc)
        return _users_page(request, me, scope, problems=problems, form=form, status=422)
    password = service.new_password()
    try:
        with attempt(session):
            user = service.create_user(
                scope,
                body.email,
                password,
                body.role,
                publisher_id=body.publisher_id if body.role == "publisher" else None,
                must_change_password=True,
            )
    except LeadgateError as exc:
        problems = from_error(exc)
        if exc.code in ("user_exists", "invalid_email"):
            problems = Problems(fields={"email": exc.detail})
        elif body.role == "publisher":
            problems = Problems(fields={"publisher_id": exc.detail})
        return _users_page(request, me, scope, problems=problems, form=form, status=422)
    return _users_page(request, me, scope, created=(user.email, password), status=200)


@router.post("/users/{user_id}/reset-password", response_class=HTMLResponse)
def reset_password(
    request: Request, user_id: Id, me: AdminPost, session: DbSession
) -> HTMLResponse:
    """Give a user a new one-time password (shown once) and end their sessions."""
    scope = scope_of(session, me)
    user = service.get(scope, user_id)
    if user.id == me.user_id:
        raise Conflict("Change your own password on the “Your password” page.")
    password = service.new_password()
    service.set_password(scope, user.id, password, must_change=True)
    return _users_page(request, me, scope, created=(user.email, password))


@router.post("/users/{user_id}/remove", response_class=RedirectResponse)
def remove_user(user_id: Id, me: AdminPost, session: DbSession) -> RedirectResponse:
    """Remove a user; their sessions end with them."""
    service.delete_user(scope_of(session, me), user_id, acting_user_id=me.user_id)
    return see_other(f"{base_url(me.subdomain)}/users?notice=user_removed")


def _tokens_page(
    request: Request,
    me: AdminUser,
    scope: TenantScope,
    *,
    created: tuple[str, str] | None = None,
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    tokens = instances.admin_tokens(scope)
    return render(
        request,
        "users/tokens.html",
        {"title": "API tokens", "tokens": tokens, "created": created, "error": error},
        me=me,
        status=status,
    )


@router.get("/tokens", response_class=HTMLResponse)
def tokens_page(request: Request, me: AdminUser, session: DbSession) -> HTMLResponse:
    """Admin tokens for scripts (the same ones the API accepts)."""
    return _tokens_page(request, me, scope_of(session, me))


@router.post("/tokens", response_class=HTMLResponse)
def create_token(
    request: Request,
    me: AdminPost,
    session: DbSession,
    name: Annotated[str, Form(max_length=1000)] = "",
) -> HTMLResponse:
    """A new admin token: shown once, stored as a hash."""
    scope = scope_of(session, me)
    label = name.strip()
    if not label or len(label) > 150:
        return _tokens_page(
            request,
            me,
            scope,
            error="Give the token a name of up to 150 characters, such as “nightly import”.",
            status=422,
        )
    secret = issue_admin_token(session, me.instance_id, f"{label} (by {me.email})")
    audit.record(scope, "token.issued", f"API token “{label}”")
    return _tokens_page(request, me, scope, created=(label, secret), status=200)


@router.post("/tokens/{token_id}/revoke", response_class=RedirectResponse)
def revoke_token(token_id: Id, me: AdminPost, session: DbSession) -> RedirectResponse:
    """Revoke an admin token at once."""
    scope = scope_of(session, me)
    revoke_admin_token(scope, token_id)
    audit.record(scope, "token.revoked", f"API token {token_id}")
    return see_other(f"{base_url(me.subdomain)}/tokens?notice=token_revoked")


AUDIT_KINDS = [
    ("", "All changes"),
    ("job.", "Processr jobs"),
    ("list.", "Validation lists"),
    ("key.", "Publishers' API keys"),
    ("grant.", "Campaign grants"),
    ("user.", "Users"),
    ("token.", "API tokens"),
]
AUDIT_LABELS = {
    "job.created": "Job added",
    "job.updated": "Job changed",
    "job.deleted": "Job deleted",
    "job.reordered": "Jobs reordered",
    "list.created": "List created",
    "list.values_changed": "List values changed",
    "list.imported": "List imported",
    "list.deleted": "List deleted",
    "list.renamed": "List renamed",
    "list.made_private": "List made private",
    "list.made_public": "List made public",
    "list.key_rotated": "List key rotated",
    "key.issued": "API key issued",
    "key.revoked": "API key revoked",
    "grant.added": "Campaign granted",
    "grant.removed": "Grant revoked",
    "user.created": "User added",
    "user.deleted": "User removed",
    "user.password_set": "Password set",
    "user.password_changed": "Password changed",
    "token.issued": "API token created",
    "token.revoked": "API token revoked",
}


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    me: AdminUser,
    session: DbSession,
    action: Annotated[str, Query(max_length=64)] = "",
    cursor: Annotated[str, Query(max_length=200)] = "",
) -> HTMLResponse:
    """The audit log: who changed what, when and from where."""
    found = audit.page(scope_of(session, me), limit=100, cursor=cursor or None, action=action)
    return render(
        request,
        "audit/log.html",
        {
            "title": "Audit log",
            "events": found.items,
            "next_cursor": found.next_cursor,
            "kinds": AUDIT_KINDS,
            "labels": AUDIT_LABELS,
            "action": action,
        },
        me=me,
    )
