"""Users: passwords (argon2), sign-in, and server-side browser sessions.

Sessions are rows, not signed cookies: the cookie carries a random token and the row only its
SHA-256 (like admin tokens), so signing out or changing a password ends a session at once, and
no deployment-wide signing key has to be configured, kept secret and rotated.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.orm import Session

from leadgate.audit import service as audit
from leadgate.config import Settings
from leadgate.errors import Conflict, InvalidRequest, RateLimited, Unauthorized
from leadgate.instances.models import Instance
from leadgate.instances.schemas import InstanceCreated
from leadgate.instances.service import get_instance, issue_admin_token
from leadgate.kit.repository import TenantScope
from leadgate.kit.secrets import hash_secret
from leadgate.kit.subdomains import check_subdomain
from leadgate.publishers import service as publishers
from leadgate.users import repository
from leadgate.users.models import User, UserSession
from leadgate.users.schemas import MIN_PASSWORD, Role, UserOut, clean_email

SESSION_TTL = timedelta(hours=12)
# argon2id at OWASP's recommended minimum (19 MiB, 2 passes, 1 lane): ~40 ms on a small
# machine, where argon2-cffi's default profile (64 MiB, 4 lanes) took ~0.4 s on two busy cores.
HASHER = PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1)
# Verified against when the email is unknown, so a wrong email costs as long as a wrong password.
_DUMMY_HASH = HASHER.hash(secrets.token_hex(16))


@dataclass(frozen=True)
class SignedIn:
    """The person behind a browser session, with what every page needs to know of them."""

    user_id: int
    instance_id: int
    subdomain: str
    instance_name: str
    email: str
    role: str
    publisher_id: int | None
    csrf_token: str
    must_change_password: bool

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def to_out(user: User) -> UserOut:
    """The view of a user (never its password hash)."""
    return UserOut(
        id=user.id,
        email=user.email,
        role=user.role,
        publisher_id=user.publisher_id,
        must_change_password=user.must_change_password,
    )


def new_password() -> str:
    """A password a machine chose, to be shown once (about 96 bits)."""
    return secrets.token_urlsafe(12)


def hash_password(password: str) -> str:
    """The argon2id hash stored for a password."""
    if len(password) < MIN_PASSWORD:
        raise InvalidRequest(
            f"A password needs at least {MIN_PASSWORD} characters.", code="weak_password"
        )
    return HASHER.hash(password)


def create_user(
    scope: TenantScope,
    email: str,
    password: str,
    role: Role,
    *,
    publisher_id: int | None = None,
    must_change_password: bool = False,
) -> User:
    """A new user of the instance; a publisher user belongs to one publisher of it."""
    try:
        address = clean_email(email)
    except ValueError as exc:
        raise InvalidRequest(f"{email!r}: {exc}.", code="invalid_email") from None
    if role == "publisher":
        if publisher_id is None:
            raise InvalidRequest("A publisher user needs a publisher.", code="invalid_request")
        publishers.get(scope, publisher_id)
    elif publisher_id is not None:
        raise InvalidRequest("An admin does not belong to a publisher.", code="invalid_request")
    if find(scope, address) is not None:
        raise Conflict(f"There is a user {address} already.", code="user_exists")
    user = User(
        email=address,
        password_hash=hash_password(password),
        role=role,
        publisher_id=publisher_id,
        must_change_password=must_change_password,
    )
    scope.add(user)
    scope.session.flush()
    audit.record(scope, "user.created", f"user {user.id} {address}", role=role)
    return user


def get(scope: TenantScope, user_id: int) -> User:
    """A user of this instance, or 404 user_not_found."""
    return repository.get(scope, user_id)


def find(scope: TenantScope, email: str) -> User | None:
    """The user with this email in the instance, if any."""
    return repository.find_by_email(scope, email.strip().lower())


def list_all(scope: TenantScope) -> Sequence[User]:
    """Every user of the instance, admins first."""
    return repository.list_all(scope)


def delete_user(scope: TenantScope, user_id: int, *, acting_user_id: int) -> None:
    """Remove a user (their sessions end with them); nobody removes themselves."""
    user = get(scope, user_id)
    if user.id == acting_user_id:
        raise Conflict("You cannot remove yourself.", code="cannot_remove_self")
    audit.record(scope, "user.deleted", f"user {user.id} {user.email}")
    scope.session.delete(user)
    scope.session.flush()


def set_password(scope: TenantScope, user_id: int, password: str, *, must_change: bool) -> None:
    """Give a user a new password and end their sessions."""
    user = get(scope, user_id)
    user.password_hash = hash_password(password)
    user.must_change_password = must_change
    repository.delete_sessions(scope, user.id)
    audit.record(scope, "user.password_set", f"user {user.id} {user.email}")
    scope.session.flush()


def change_password(
    scope: TenantScope, user_id: int, current: str, new: str, *, keep_token: str | None
) -> None:
    """A user's own change: the current password is checked; other sessions end."""
    user = get(scope, user_id)
    if not _verify(user.password_hash, current):
        raise InvalidRequest(
            "The current password is not right.",
            code="wrong_password",
            errors=[{"loc": ["current_password"], "msg": "This is not your current password."}],
        )
    user.password_hash = hash_password(new)
    user.must_change_password = False
    repository.delete_sessions(
        scope, user.id, keep_hash=hash_secret(keep_token) if keep_token else None
    )
    audit.record(scope, "user.password_changed", f"user {user.id} {user.email}")
    scope.session.flush()


def password_matches(user: User, password: str) -> bool:
    """Whether `password` is the user's current password."""
    return _verify(user.password_hash, password)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True)
class Throttle:
    """How many failed sign-ins are allowed per account and per client address in a window."""

    per_account: int = 10
    per_client: int = 30
    window_s: int = 900

    @classmethod
    def of(cls, settings: Settings) -> Throttle:
        return cls(
            settings.sign_in_max_failures,
            settings.sign_in_max_failures_per_client,
            settings.sign_in_window_s,
        )


def retry_after(
    throttle: Throttle,
    now: datetime,
    account: tuple[int, datetime | None],
    client: tuple[int, datetime | None],
) -> int | None:
    """Seconds until a throttled sign-in may be tried again (None: not throttled): until the
    oldest failure that keeps a count at its limit leaves the window."""
    waits = [
        (oldest + timedelta(seconds=throttle.window_s) - now).total_seconds()
        for (count, oldest), limit in (
            (account, throttle.per_account),
            (client, throttle.per_client),
        )
        if count >= limit and oldest is not None
    ]
    return max(1, math.ceil(max(waits))) if waits else None


def check_credentials(
    session: Session,
    subdomain: str,
    email: str,
    password: str,
    *,
    client: str = "",
    throttle: Throttle | None = None,
) -> User:
    """The user these credentials open on this instance, or Unauthorized (one message for all).

    Throttled (RateLimited, 429 with Retry-After) after `throttle.per_account` failures of the
    account or `per_client` of the client address within the window, whatever the password;
    a success resets the account's count. Counted in the database, so every process agrees.
    """
    throttle = throttle or Throttle()
    address = email.strip().lower()
    account = f"{subdomain}:{address}"
    now = datetime.now(UTC)
    since = now - timedelta(seconds=throttle.window_s)
    repository.lock_account_attempts(session, account)
    n_account, first_account, n_client, first_client = repository.recent_failures(
        session, account, client, since
    )
    wait = retry_after(throttle, now, (n_account, first_account), (n_client, first_client))
    if wait is not None:
        minutes = max(1, math.ceil(wait / 60))
        raise RateLimited(
            f"Too many failed sign-ins. Please wait {minutes} minute{'s' if minutes > 1 else ''} "
            "and try again.",
            retry_after=wait,
        )
    user = repository.user_by_email_on_subdomain(session, subdomain, address)
    if user is None:
        _verify(_DUMMY_HASH, password)
    if user is None or not _verify(user.password_hash, password):
        repository.add_failure(session, account, client, since)
        raise Unauthorized("The email or password is not right.", code="sign_in_failed")
    repository.clear_failures(session, account)
    if HASHER.check_needs_rehash(user.password_hash):
        user.password_hash = HASHER.hash(password)
    return user


def start_session(session: Session, user: User) -> str:
    """A new browser session for the user; returns the cookie token (shown only here)."""
    token = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    repository.delete_expired_sessions(TenantScope(session, user.instance_id), user.id, now)
    session.add(
        UserSession(
            instance_id=user.instance_id,
            user_id=user.id,
            token_hash=hash_secret(token),
            csrf_token=secrets.token_urlsafe(32),
            expires_at=now + SESSION_TTL,
        )
    )
    session.flush()
    return token


def signed_in(session: Session, subdomain: str, token: str | None) -> SignedIn | None:
    """Who holds this cookie token on this instance, or None (unknown, expired, other instance).

    A session used after half its life is extended, so a person at work is not signed out.
    """
    if not token:
        return None
    row = repository.session_on_subdomain(session, subdomain, hash_secret(token))
    if row is None:
        return None
    user_session, user, instance = row
    now = datetime.now(UTC)
    if user_session.expires_at <= now:
        return None
    if user_session.expires_at - now < SESSION_TTL / 2:
        user_session.expires_at = now + SESSION_TTL
    return SignedIn(
        user_id=user.id,
        instance_id=instance.id,
        subdomain=instance.subdomain,
        instance_name=instance.name,
        email=user.email,
        role=user.role,
        publisher_id=user.publisher_id,
        csrf_token=user_session.csrf_token,
        must_change_password=user.must_change_password,
    )


def end_session(session: Session, token: str | None) -> None:
    """Sign out: the session row goes, so the cookie is worthless even if kept."""
    if token:
        repository.delete_session_on_token(session, hash_secret(token))


def create_instance(
    session: Session, subdomain: str, name: str | None = None, admin_email: str | None = None
) -> InstanceCreated:
    """A new instance with its first admin token and admin user (secrets only ever shown here)."""
    check_subdomain(subdomain)
    if get_instance(session, subdomain) is not None:
        raise Conflict(f"The instance {subdomain!r} exists already.", code="instance_exists")
    instance = Instance(subdomain=subdomain, name=name or subdomain)
    session.add(instance)
    session.flush()
    token = issue_admin_token(session, instance.id, "admin")
    email = admin_email or f"admin@{subdomain}"
    password = new_password()
    create_user(
        TenantScope(session, instance.id), email, password, "admin", must_change_password=True
    )
    return InstanceCreated(
        subdomain=subdomain,
        admin_token=token,
        admin_email=email.strip().lower(),
        admin_password=password,
    )
