"""Creating instances and checking the secrets that open them."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from leadgate.errors import Unauthorized
from leadgate.instances.models import AdminToken, Instance, PublisherApiKey
from leadgate.kit.secrets import hash_secret, new_secret

ADMIN_PREFIX = "lga"
PUBLISHER_PREFIX = "lgp"


@dataclass(frozen=True)
class Caller:
    """Who a request acts for: an instance admin, or one publisher of the instance."""

    instance_id: int
    subdomain: str
    publisher_id: int | None = None
    key_id: int | None = None

    @property
    def is_admin(self) -> bool:
        return self.publisher_id is None


def get_instance(session: Session, subdomain: str) -> Instance | None:
    """The instance with this subdomain, if any."""
    return session.scalars(select(Instance).where(Instance.subdomain == subdomain)).one_or_none()


def issue_admin_token(session: Session, instance_id: int, name: str) -> str:
    """A new admin token for the instance; returns the secret."""
    secret = new_secret(ADMIN_PREFIX)
    session.add(AdminToken(instance_id=instance_id, name=name, token_hash=hash_secret(secret)))
    session.flush()
    return secret


def authenticate(session: Session, subdomain: str, secret: str | None) -> Caller:
    """The caller a bearer secret stands for on this instance, or Unauthorized.

    A secret of another instance is worthless here: it is looked up together with the subdomain.
    """
    if not secret:
        raise Unauthorized("Send `Authorization: Bearer <admin token or publisher API key>`.")
    digest = hash_secret(secret)
    if secret.startswith(PUBLISHER_PREFIX + "_"):
        row = session.execute(
            select(Instance.id, PublisherApiKey.publisher_id, PublisherApiKey.id)
            .join(PublisherApiKey, PublisherApiKey.instance_id == Instance.id)
            .where(
                Instance.subdomain == subdomain,
                PublisherApiKey.key_hash == digest,
                PublisherApiKey.revoked_at.is_(None),
            )
        ).one_or_none()
        if row is not None:
            return Caller(
                instance_id=row[0], subdomain=subdomain, publisher_id=row[1], key_id=row[2]
            )
    else:
        instance_id = session.scalar(
            select(Instance.id)
            .join(AdminToken, AdminToken.instance_id == Instance.id)
            .where(
                Instance.subdomain == subdomain,
                AdminToken.token_hash == digest,
                AdminToken.revoked_at.is_(None),
            )
        )
        if instance_id is not None:
            return Caller(instance_id=instance_id, subdomain=subdomain)
    raise Unauthorized("The secret is not valid for this instance.")
