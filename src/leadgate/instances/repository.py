"""Queries on instances and their secrets (admin tokens, publisher API keys).

The two lookups by secret hash cross instances on purpose, as authentication must: they take a
bare session and find the secret together with the instance's subdomain, so a secret of another
instance matches nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from leadgate.instances.models import AdminToken, Instance, PublisherApiKey
from leadgate.kit.repository import TenantScope


class KeyHolder(NamedTuple):
    """Whom a live publisher API key opens an instance for."""

    instance_id: int
    publisher_id: int
    key_id: int


def instance_by_subdomain(session: Session, subdomain: str) -> Instance | None:
    """The instance with this subdomain, if any."""
    return session.scalars(select(Instance).where(Instance.subdomain == subdomain)).one_or_none()


def admin_token_on_subdomain(
    session: Session, subdomain: str, token_hash: str
) -> tuple[int, int, str] | None:
    """Cross-instance (authentication): (instance id, token id, token name) of the live admin
    token with this hash on `subdomain`."""
    row = session.execute(
        select(Instance.id, AdminToken.id, AdminToken.name)
        .join(AdminToken, AdminToken.instance_id == Instance.id)
        .where(
            Instance.subdomain == subdomain,
            AdminToken.token_hash == token_hash,
            AdminToken.revoked_at.is_(None),
        )
    ).one_or_none()
    return None if row is None else (row[0], row[1], row[2])


def publisher_key_on_subdomain(session: Session, subdomain: str, key_hash: str) -> KeyHolder | None:
    """Cross-instance (authentication): the live publisher key with this hash on `subdomain`."""
    row = session.execute(
        select(Instance.id, PublisherApiKey.publisher_id, PublisherApiKey.id)
        .join(PublisherApiKey, PublisherApiKey.instance_id == Instance.id)
        .where(
            Instance.subdomain == subdomain,
            PublisherApiKey.key_hash == key_hash,
            PublisherApiKey.revoked_at.is_(None),
        )
    ).one_or_none()
    return None if row is None else KeyHolder(*row)


def admin_tokens(scope: TenantScope) -> Sequence[AdminToken]:
    """The instance's admin tokens, working ones first, newest first."""
    return scope.session.scalars(
        scope.select(AdminToken).order_by(AdminToken.revoked_at.is_not(None), AdminToken.id.desc())
    ).all()


def get_admin_token(scope: TenantScope, token_id: int) -> AdminToken:
    """An admin token of this instance, or 404 token_not_found."""
    return scope.get(AdminToken, token_id, missing="token_not_found", what="token")
