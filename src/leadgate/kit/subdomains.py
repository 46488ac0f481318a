"""Subdomains: checked before any URL or route is built from one."""

from __future__ import annotations

import re

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
