"""Queries of the publisher pages and the portal that no lower package answers."""

from __future__ import annotations

from collections.abc import Sequence

from leadgate.instances.models import PublisherApiKey
from leadgate.kit.repository import TenantScope


def keys_of(scope: TenantScope, publisher_id: int) -> Sequence[PublisherApiKey]:
    """The publisher's API keys in this instance, working ones first, newest first."""
    return scope.session.scalars(
        scope.select(PublisherApiKey)
        .where(PublisherApiKey.publisher_id == publisher_id)
        .order_by(PublisherApiKey.revoked_at.is_not(None), PublisherApiKey.id.desc())
    ).all()
