"""Creating instances and checking the secrets that open them."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from leadgate.errors import Conflict, Unauthorized
from leadgate.instances.models import AdminToken, Instance
from leadgate.instances.schemas import InstanceCreated, check_subdomain
from leadgate.kit.repository import TenantScope
from leadgate.kit.secrets import hash_secret, new_secret
from leadgate.publishers.models import PublisherApiKey
from leadgate.users import service as users

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
    password = users.new_password()
    users.create_user(
        TenantScope(session, instance.id), email, password, "admin", must_change_password=True
    )
    return InstanceCreated(
        subdomain=subdomain,
        admin_token=token,
        admin_email=email.strip().lower(),
        admin_password=password,
    )


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
