"""Who is signed in to the pages, what they may reach, and the CSRF check of every form post."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, Path, Request

from leadgate.db import transaction
from leadgate.instances.deps import DbSession, client_address
from leadgate.instances.service import Caller
from leadgate.kit.actor import act_as
from leadgate.kit.repository import TenantScope
from leadgate.ui.errors import PageForbidden, PasswordChangeRequired, SignInRequired
from leadgate.users import service as users
from leadgate.users.service import SignedIn

SESSION_COOKIE = "leadgate_session"
# Before sign-in there is no session to hold a CSRF token: the sign-in form's token is signed
# with the deployment key and bound to the instance and to a random nonce in this cookie, so
# the post must carry a token leadgate issued for this very form (kit.signing).
SIGN_IN_COOKIE = "leadgate_sign_in"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


def cookie_path(subdomain: str) -> str:
    """Cookies are scoped to one instance, so sessions of two instances live side by side."""
    return f"/i/{subdomain}/"


def get_signed_in(
    request: Request,
    session: DbSession,
    subdomain: Annotated[str, Path(description="The instance's subdomain.")],
) -> SignedIn:
    """The person signed in to this instance, or a redirect to its sign-in page."""
    me = users.signed_in(session, subdomain, request.cookies.get(SESSION_COOKIE))
    if me is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInRequired(subdomain, target if request.method == "GET" else "")
    if me.must_change_password and not request.url.path.endswith(("/password", "/sign-out")):
        raise PasswordChangeRequired(subdomain)
    act_as(session, me.email, client_address(request))
    return me


def signed_in_for_page(request: Request, subdomain: str) -> SignedIn | None:
    """Who is signed in to this instance (error pages keep their navigation), or None."""
    with transaction(request.app.state.sessions) as session:
        me = users.signed_in(session, subdomain, request.cookies.get(SESSION_COOKIE))
    return None if me is None or me.must_change_password else me


def get_admin_user(me: Annotated[SignedIn, Depends(get_signed_in)]) -> SignedIn:
    """An admin of the instance; a publisher's person sees a plain refusal, never data."""
    if not me.is_admin:
        raise PageForbidden(
            me,
            "This page is for the instance's admins",
            "You are signed in as a publisher. Your pages are under “Your campaigns”.",
        )
    return me


def get_publisher_user(me: Annotated[SignedIn, Depends(get_signed_in)]) -> SignedIn:
    """A publisher's person; admins have the admin pages."""
    if me.is_admin or me.publisher_id is None:
        raise PageForbidden(
            me,
            "This page is for publishers",
            "It shows what a publisher sees of this instance; admins see everything elsewhere.",
        )
    return me


async def _check_csrf(request: Request, me: SignedIn) -> SignedIn:
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not sent or not secrets.compare_digest(sent.encode(), me.csrf_token.encode()):
        raise PageForbidden(
            me,
            "This form has expired",
            "The form was not sent from this page of leadgate, or it is from an older "
            "session. Go back, reload the page and try again.",
        )
    return me


async def get_signed_in_post(
    me: Annotated[SignedIn, Depends(get_signed_in)], request: Request
) -> SignedIn:
    """A signed-in person's form post with the right CSRF token."""
    return await _check_csrf(request, me)


async def get_admin_post(
    me: Annotated[SignedIn, Depends(get_admin_user)], request: Request
) -> SignedIn:
    """An admin's form post with the right CSRF token."""
    return await _check_csrf(request, me)


async def get_publisher_post(
    me: Annotated[SignedIn, Depends(get_publisher_user)], request: Request
) -> SignedIn:
    """A publisher person's form post with the right CSRF token."""
    return await _check_csrf(request, me)


Me = Annotated[SignedIn, Depends(get_signed_in)]
MePost = Annotated[SignedIn, Depends(get_signed_in_post)]
AdminUser = Annotated[SignedIn, Depends(get_admin_user)]
AdminPost = Annotated[SignedIn, Depends(get_admin_post)]
PublisherUser = Annotated[SignedIn, Depends(get_publisher_user)]
PublisherPost = Annotated[SignedIn, Depends(get_publisher_post)]


def scope_of(session: DbSession, me: SignedIn) -> TenantScope:
    """The signed-in person's instance, as the services take it."""
    return TenantScope(session, me.instance_id)


def caller_of(me: SignedIn) -> Caller:
    """The API's view of a signed-in person (what the API endpoints take)."""
    return Caller(instance_id=me.instance_id, subdomain=me.subdomain, publisher_id=me.publisher_id)
