"""Request dependencies: the unit of work and the authenticated caller."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, cast

from fastapi import Depends, Header, Path, Request
from sqlalchemy.orm import Session

from leadgate.config import Settings
from leadgate.errors import NotFound, RateLimited, Unauthorized
from leadgate.instances.service import Caller, authenticate
from leadgate.kit.actor import act_as
from leadgate.kit.ratelimit import RateLimiter


def get_session(request: Request) -> Iterator[Session]:
    """The request's unit of work: committed before the response is sent, else rolled back."""
    session: Session = request.app.state.sessions()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


DbSession = Annotated[Session, Depends(get_session, scope="function")]


def settings_of(request: Request) -> Settings:
    """The deployment's settings, as the app was made with them (the one way edges read them)."""
    return cast(Settings, request.app.state.settings)


AppSettings = Annotated[Settings, Depends(settings_of)]


def bearer(authorization: str | None) -> str | None:
    """The secret of an `Authorization: Bearer <secret>` header."""
    if not authorization:
        return None
    scheme, _, value = authorization.partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


def client_address(request: Request) -> str:
    """The address the request came from (the audit log's "from where")."""
    return request.client.host if request.client else ""


def get_caller(
    request: Request,
    session: DbSession,
    subdomain: Annotated[str, Path(description="The instance's subdomain.")],
    authorization: Annotated[str | None, Header()] = None,
) -> Caller:
    """Whoever the bearer secret stands for on this instance (the session acts for it)."""
    caller = authenticate(session, subdomain, bearer(authorization))
    act_as(session, caller.actor, client_address(request))
    return caller


def get_admin(caller: Annotated[Caller, Depends(get_caller)]) -> Caller:
    """An admin of this instance; a publisher key is not enough."""
    if not caller.is_admin:
        raise Unauthorized("This endpoint needs an admin token; publisher keys use /publisher/.")
    return caller


def get_publisher(request: Request, caller: Annotated[Caller, Depends(get_caller)]) -> Caller:
    """A publisher of this instance, within its rate limit."""
    publisher_only(caller)
    assert caller.publisher_id is not None
    limiter: RateLimiter = request.app.state.rate_limiter
    refuse_over_limit(limiter, limiter.hit(request.app.state.engine, caller.publisher_id))
    return caller


def publisher_only(caller: Caller) -> None:
    """404 for an admin token on a publisher endpoint."""
    if caller.is_admin:
        raise NotFound("Publisher endpoints need a publisher API key.", code="not_found")


def refuse_over_limit(limiter: RateLimiter, wait: int | None) -> None:
    """429 with Retry-After when the limiter's answer to a hit was to wait."""
    if wait is not None:
        raise RateLimited(
            f"This publisher made more than {limiter.limit} requests in {limiter.window:g} "
            f"seconds (all its keys together); retry in {wait} s.",
            retry_after=wait,
        )


Admin = Annotated[Caller, Depends(get_admin)]
Publisher = Annotated[Caller, Depends(get_publisher)]
