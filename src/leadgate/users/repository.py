"""Queries on users and their browser sessions.

Sign-in and the session cookie cross instances on purpose: they take a bare session and find the
email or token hash together with the instance's subdomain, so nothing of another instance matches.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import InstrumentedAttribute, Session

from leadgate.instances.models import Instance
from leadgate.kit.repository import TenantScope
from leadgate.users.models import SignInFailure, User, UserSession


def get(scope: TenantScope, user_id: int) -> User:
    """A user of this instance, or 404 user_not_found."""
    return scope.get(User, user_id, missing="user_not_found", what="user")


def find_by_email(scope: TenantScope, address: str) -> User | None:
    """The user of the instance with this (lower-cased) email, if any."""
    return scope.session.scalars(scope.select(User).where(User.email == address)).one_or_none()


def list_all(scope: TenantScope) -> Sequence[User]:
    """Every user of the instance, admins first, then by email."""
    return scope.session.scalars(scope.select(User).order_by(User.role, User.email)).all()


def user_by_email_on_subdomain(session: Session, subdomain: str, address: str) -> User | None:
    """Cross-instance (sign-in): the user with this (lower-cased) email on `subdomain`."""
    return session.scalars(
        select(User)
        .join(Instance, Instance.id == User.instance_id)
        .where(Instance.subdomain == subdomain, User.email == address)
    ).one_or_none()


def session_on_subdomain(
    session: Session, subdomain: str, token_hash: str
) -> tuple[UserSession, User, Instance] | None:
    """Cross-instance (the cookie): the browser session with this token hash on `subdomain`."""
    row = session.execute(
        select(UserSession, User, Instance)
        .join(User, User.id == UserSession.user_id)
        .join(Instance, Instance.id == UserSession.instance_id)
        .where(UserSession.token_hash == token_hash, Instance.subdomain == subdomain)
    ).one_or_none()
    return None if row is None else (row[0], row[1], row[2])


def delete_sessions(scope: TenantScope, user_id: int, *, keep_hash: str | None = None) -> None:
    """End the user's browser sessions, but the one with the token hash `keep_hash`."""
    query = delete(UserSession).where(
        UserSession.instance_id == scope.instance_id, UserSession.user_id == user_id
    )
    if keep_hash:
        query = query.where(UserSession.token_hash != keep_hash)
    scope.session.execute(query)


def delete_expired_sessions(scope: TenantScope, user_id: int, now: datetime) -> None:
    """Drop the user's browser sessions that expired by `now`."""
    scope.session.execute(
        delete(UserSession).where(
            UserSession.instance_id == scope.instance_id,
            UserSession.user_id == user_id,
            UserSession.expires_at <= now,
        )
    )


def delete_session_on_token(session: Session, token_hash: str) -> None:
    """Cross-instance (sign-out): drop the browser session with this token hash (unique)."""
    session.execute(delete(UserSession).where(UserSession.token_hash == token_hash))


def lock_account_attempts(session: Session, account: str) -> None:
    """Sign-in attempts on one account take turns (until the transaction ends), so processes
    that check at the same moment count each other's failures."""
    session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:a))"), {"a": "sign-in:" + account})


def recent_failures(
    session: Session, account: str, client: str, since: datetime
) -> tuple[int, datetime | None, int, datetime | None]:
    """Failures since `since`: count and oldest of the account's, then of the client
    address's."""

    def counted(column: InstrumentedAttribute[str], value: str) -> tuple[int, datetime | None]:
        row = session.execute(
            select(func.count(), func.min(SignInFailure.at)).where(
                column == value, SignInFailure.at >= since
            )
        ).one()
        return int(row[0]), row[1]

    by_account = counted(SignInFailure.account, account)
    by_client = counted(SignInFailure.client, client)
    return (*by_account, *by_client)


def add_failure(session: Session, account: str, client: str, before: datetime) -> None:
    """Record a failure, and forget the failures older than the window."""
    session.execute(delete(SignInFailure).where(SignInFailure.at < before))
    session.add(SignInFailure(account=account, client=client))
    session.flush()


def clear_failures(session: Session, account: str) -> None:
    """A successful sign-in resets the account's count."""
    session.execute(delete(SignInFailure).where(SignInFailure.account == account))
