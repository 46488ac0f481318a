"""Which URLs webhooks may point at: under an instance URL of the template, or an allowed prefix."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from leadgate.kit.subdomains import SUBDOMAIN_RE


def template_pattern(template: str) -> re.Pattern[str]:
    """A regex matching URLs under any instance URL made from the template."""
    before, _, after = template.partition("{subdomain}")
    sub = SUBDOMAIN_RE.pattern.strip("^$")
    return re.compile(f"^{re.escape(before)}(?P<sub>{sub}){re.escape(after)}(?:/[^\\s]*)?$")


def allowed(url: str, template: str, extra_prefixes: list[str]) -> bool:
    """True when `url` lies under an instance URL of the template or under an allowed prefix."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or "@" in parts.netloc:
        return False
    if template_pattern(template).match(url):
        return True
    return any(url.startswith(prefix) for prefix in extra_prefixes if prefix)


def instance_url(template: str, subdomain: str) -> str:
    """The base URL of an instance (the subdomain must already be valid)."""
    if not SUBDOMAIN_RE.fullmatch(subdomain):
        raise ValueError(f"invalid subdomain {subdomain!r}")
    return template.replace("{subdomain}", subdomain)
