"""Instance names and the answers about instances."""

from __future__ import annotations

import re

from pydantic import BaseModel, Field

from leadgate.errors import InvalidRequest

SUBDOMAIN_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


def check_subdomain(value: str) -> str:
    """The subdomain itself, or InvalidRequest: checked before any URL is built from it."""
    if not SUBDOMAIN_RE.fullmatch(value):
        raise InvalidRequest(
            f"{value!r} is not a valid subdomain: use 1-63 lowercase letters, digits and "
            "inner hyphens.",
            code="invalid_subdomain",
        )
    return value


class InstanceCreated(BaseModel):
    subdomain: str
    admin_token: str
    admin_email: str
    admin_password: str = Field(description="One-time password: changed at the first sign-in.")
