"""Creating instances and checking the secrets that open them."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func
from sqlalchemy.orm import Session

from leadgate.errors import NotFound, Unauthorized
from leadgate.instances import repository
from leadgate.instances.models import AdminToken, Instance
from leadgate.kit.repository import TenantScope
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
    actor: str = ""  # for the audit log: which secret (or person) this is

    @property
    def is_admin(self) -> bool:
        return self.publisher_id is None


def get_instance(session: Session, subdomain: str) -> Instance | None:
    """The instance with this subdomain, if any."""
    return repository.instance_by_subdomain(session, subdomain)


def issue_admin_token(
    session: Session, instance_id: int, name: str, secret: str | None = None
) -> str:
    """A new admin token for the instance (`secret`, else a fresh one); returns the secret."""
    secret = secret or new_secret(ADMIN_PREFIX)
    session.add(AdminToken(instance_id=instance_id, name=name, token_hash=hash_secret(secret)))
    session.flush()
    return secret


def revoke_admin_token(scope: TenantScope, token_id: int) -> None:
    """Revoke an admin token of this instance at once (idempotent)."""
    token = repository.get_admin_token(scope, token_id)
    if token.revoked_at is None:
        token.revoked_at = func.now()


def authenticate(session: Session, subdomain: str, secret: str | None) -> Caller:
    """The caller a bearer secret stands for on this instance, or Unauthorized.

    A secret of another instance is worthless here: it is looked up together with the subdomain.
    A subdomain with no instance is 404 `instance_not_found` (a mistyped address is not a wrong
    key; subdomains are addresses, not secrets).
    """
    if not secret:
        _no_instance(session, subdomain)
        raise Unauthorized("Send `Authorization: Bearer <admin token or publisher API key>`.")
    digest = hash_secret(secret)
    if secret.startswith(PUBLISHER_PREFIX + "_"):
        key = repository.publisher_key_on_subdomain(session, subdomain, digest)
        if key is not None:
            return Caller(
                instance_id=key.instance_id,
                subdomain=subdomain,
                publisher_id=key.publisher_id,
                key_id=key.key_id,
                actor=f"publisher {key.publisher_id}'s API key {key.key_id}",
            )
    else:
        token = repository.admin_token_on_subdomain(session, subdomain, digest)
        if token is not None:
            instance_id, token_id, name = token
            actor = f"API token “{name}” ({token_id})"
            return Caller(instance_id=instance_id, subdomain=subdomain, actor=actor)
    _no_instance(session, subdomain)
    raise Unauthorized("The secret is not valid for this instance.")


def _no_instance(session: Session, subdomain: str) -> None:
    """404 instance_not_found when no instance has this subdomain (asked only on a refusal)."""
    if repository.instance_by_subdomain(session, subdomain) is None:
        raise NotFound(
            f"There is no instance {subdomain} at this deployment.", code="instance_not_found"
        )
