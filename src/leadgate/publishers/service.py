"""Publishers and their API keys."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func

from leadgate.audit import service as audit
from leadgate.errors import Conflict
from leadgate.instances.models import PublisherApiKey
from leadgate.instances.service import PUBLISHER_PREFIX
from leadgate.kit.repository import TenantScope
from leadgate.kit.secrets import hash_secret, new_secret
from leadgate.publishers import repository
from leadgate.publishers.models import Publisher
from leadgate.publishers.schemas import ApiKeyCreated


def get(scope: TenantScope, publisher_id: int) -> Publisher:
    """A publisher of this instance, or 404 publisher_not_found."""
    return repository.get(scope, publisher_id)


def create(scope: TenantScope, name: str) -> Publisher:
    """A new publisher."""
    publisher = Publisher(name=name)
    scope.add(publisher)
    scope.session.flush()
    return publisher


def list_all(scope: TenantScope) -> Sequence[Publisher]:
    """Every publisher of the instance."""
    return repository.list_all(scope)


# Working keys a publisher may hold at once: more keys must not multiply what it may send.
MAX_LIVE_KEYS = 10


def issue_key(scope: TenantScope, publisher_id: int, secret: str | None = None) -> ApiKeyCreated:
    """A new API key for the publisher (`secret`, else a fresh one); the secret is returned once
    and stored hashed.

    A publisher holds at most MAX_LIVE_KEYS working keys (409 `too_many_keys`)."""
    get(scope, publisher_id)
    live = repository.live_key_count(scope, publisher_id)
    if live >= MAX_LIVE_KEYS:
        raise Conflict(
            f"This publisher has {live} working API keys, the most it may hold; "
            "revoke one it no longer uses first.",
            code="too_many_keys",
        )
    secret = secret or new_secret(PUBLISHER_PREFIX)
    key = PublisherApiKey(
        publisher_id=publisher_id, key_hash=hash_secret(secret), prefix=secret[:10]
    )
    scope.add(key)
    scope.session.flush()
    audit.record(scope, "key.issued", f"API key {key.id} of publisher {publisher_id}")
    return ApiKeyCreated(id=key.id, key=secret)


def revoke_key(scope: TenantScope, publisher_id: int, key_id: int) -> None:
    """Revoke a key: the next request with it gets 401."""
    key = repository.get_api_key(scope, publisher_id, key_id)
    if key.revoked_at is None:
        key.revoked_at = func.now()
        audit.record(scope, "key.revoked", f"API key {key_id} of publisher {publisher_id}")
    scope.session.flush()
