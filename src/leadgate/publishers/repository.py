"""Queries on publishers and their API keys."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select

from leadgate.errors import NotFound
from leadgate.instances.models import PublisherApiKey
from leadgate.kit.repository import TenantScope
from leadgate.publishers.models import Publisher


def get(scope: TenantScope, publisher_id: int) -> Publisher:
    """A publisher of this instance, or 404 publisher_not_found."""
    return scope.get(Publisher, publisher_id, missing="publisher_not_found", what="publisher")


def list_all(scope: TenantScope) -> Sequence[Publisher]:
    """Every publisher of the instance, oldest first."""
    return scope.session.scalars(scope.select(Publisher).order_by(Publisher.id)).all()


def find_by_name(scope: TenantScope, name: str) -> Publisher | None:
    """The first publisher of the instance with this name, if any."""
    return scope.session.scalars(scope.select(Publisher).where(Publisher.name == name)).first()


def get_api_key(scope: TenantScope, publisher_id: int, key_id: int) -> PublisherApiKey:
    """An API key of this publisher in this instance, or 404 api_key_not_found."""
    key = scope.session.scalars(
        scope.select(PublisherApiKey).where(
            PublisherApiKey.id == key_id, PublisherApiKey.publisher_id == publisher_id
        )
    ).one_or_none()
    if key is None:
        raise NotFound(f"No API key {key_id} in this instance.", code="api_key_not_found")
    return key


def keys_of(scope: TenantScope, publisher_id: int) -> Sequence[PublisherApiKey]:
    """The publisher's API keys in this instance, working ones first, newest first."""
    return scope.session.scalars(
        scope.select(PublisherApiKey)
        .where(PublisherApiKey.publisher_id == publisher_id)
        .order_by(PublisherApiKey.revoked_at.is_not(None), PublisherApiKey.id.desc())
    ).all()


def live_key_count(scope: TenantScope, publisher_id: int) -> int:
    """How many working (not revoked) keys the publisher holds."""
    return int(
        scope.session.scalar(
            select(func.count())
            .select_from(PublisherApiKey)
            .where(
                PublisherApiKey.instance_id == scope.instance_id,
                PublisherApiKey.publisher_id == publisher_id,
                PublisherApiKey.revoked_at.is_(None),
            )
        )
        or 0
    )
