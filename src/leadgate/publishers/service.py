"""Publishers and their API keys."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func

from leadgate.instances.models import PublisherApiKey
from leadgate.instances.service import PUBLISHER_PREFIX
from leadgate.kit.repository import TenantScope
from leadgate.kit.secrets import hash_secret, new_secret
from leadgate.publishers.models import Publisher
from leadgate.publishers.schemas import ApiKeyCreated


def get(scope: TenantScope, publisher_id: int) -> Publisher:
    """A publisher of this instance, or 404 publisher_not_found."""
    return scope.get(Publisher, publisher_id, missing="publisher_not_found", what="publisher")


def create(scope: TenantScope, name: str) -> Publisher:
    """A new publisher."""
    publisher = Publisher(name=name)
    scope.add(publisher)
    scope.session.flush()
    return publisher


def list_all(scope: TenantScope) -> Sequence[Publisher]:
    """Every publisher of the instance."""
    return scope.session.scalars(scope.select(Publisher).order_by(Publisher.id)).all()


def issue_key(scope: TenantScope, publisher_id: int) -> ApiKeyCreated:
    """A new API key for the publisher; the secret is returned once and stored hashed."""
    get(scope, publisher_id)
    secret = new_secret(PUBLISHER_PREFIX)
    key = PublisherApiKey(
        publisher_id=publisher_id, key_hash=hash_secret(secret), prefix=secret[:10]
    )
    scope.add(key)
    scope.session.flush()
    return ApiKeyCreated(id=key.id, key=secret)


def revoke_key(scope: TenantScope, publisher_id: int, key_id: int) -> None:
    """Revoke a key: the next request with it gets 401."""
    key = scope.get(PublisherApiKey, key_id, missing="api_key_not_found", what="API key")
    if key.publisher_id != publisher_id:
        scope.get(PublisherApiKey, -1, missing="api_key_not_found", what="API key")
    if key.revoked_at is None:
        key.revoked_at = func.now()
    scope.session.flush()
