"""Which URLs webhooks may point at: under an instance URL of the template, or an allowed prefix.

A URL is checked in the form it will be requested in: parsed and normalised by httpx (scheme
and host lower-cased, dot segments removed), so `.../i/acme/../../x` is judged as the `/x` it
would reach, and a URL httpx would refuse to send (a newline, a bad port) is refused here.
"""

from __future__ import annotations

import re

import httpx

from leadgate.kit.subdomains import SUBDOMAIN_RE


def template_pattern(template: str) -> re.Pattern[str]:
    """A regex (for `fullmatch`) of URLs under any instance URL made from the template."""
    before, _, after = template.partition("{subdomain}")
    sub = SUBDOMAIN_RE.pattern.strip("^$")
    return re.compile(f"{re.escape(before)}(?P<sub>{sub}){re.escape(after)}(?:/[^\\s]*)?")


def normalised(url: str) -> str | None:
    """The URL as httpx would request it, or None when it is not one httpx can send to (or
    carries credentials, or a dot segment spelled with percent-encoding, which a server
    decodes after httpx's normalising)."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        return None
    if parsed.scheme not in ("http", "https") or not parsed.host or parsed.userinfo:
        return None
    if any(segment in (".", "..") for segment in parsed.path.split("/")):
        return None
    return str(parsed)


def allowed(url: str, template: str, extra_prefixes: list[str]) -> bool:
    """True when `url` (normalised) lies under an instance URL of the template or under an
    allowed prefix."""
    normal = normalised(url)
    if normal is None:
        return False
    if template_pattern(template).fullmatch(normal):
        return True
    return any(normal.startswith(prefix) for prefix in extra_prefixes if prefix)


def instance_url(template: str, subdomain: str) -> str:
    """The base URL of an instance (the subdomain must already be valid)."""
    if not SUBDOMAIN_RE.fullmatch(subdomain):
        raise ValueError(f"invalid subdomain {subdomain!r}")
    return template.replace("{subdomain}", subdomain)
