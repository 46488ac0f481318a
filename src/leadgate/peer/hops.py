"""The delivery path a Connect delivery carries: the instances a lead has been in.

A delivering instance sends `Leadgate-Hops: <subdomain>, <subdomain>, ...` with each delivery:
the instances the lead came through (oldest first) and then itself. The receiving instance
refuses a lead that already passed through it, or whose path is longer than `MAX_HOPS`, so
instances that deliver to each other (or an instance to itself) cannot multiply a lead without
end. Connect works between the instances of one deployment (one URL template), so a subdomain
names an instance unambiguously.
"""

from __future__ import annotations

from collections.abc import Sequence

from leadgate.errors import Conflict, InvalidRequest
from leadgate.kit.subdomains import SUBDOMAIN_RE

HEADER = "Leadgate-Hops"
MAX_HOPS = 5


def parse(value: str | None) -> tuple[str, ...]:
    """The instances a header names, in order; InvalidRequest for anything but subdomains."""
    if value is None or not value.strip():
        return ()
    hops = tuple(part.strip() for part in value.split(","))
    wrong = next((h for h in hops if not SUBDOMAIN_RE.fullmatch(h)), None)
    if wrong is not None:
        raise InvalidRequest(
            f"The {HEADER} header lists the instances a lead came through, as subdomains "
            f"separated by commas; {wrong!r} is not a subdomain.",
            errors=[
                {
                    "loc": ["header", HEADER.lower()],
                    "msg": "comma-separated instance subdomains",
                    "type": "value_error",
                }
            ],
        )
    return hops


def render(hops: Sequence[str]) -> str:
    """The header's value for a path."""
    return ", ".join(hops)


def loop(hops: Sequence[str], receiving: str) -> Conflict | None:
    """The 409 delivery_loop a lead with this path gets at the `receiving` instance, if any."""
    if receiving in hops:
        path = " → ".join(hops)
        return Conflict(
            f"The lead already passed through {receiving} (its delivery path: {path}): "
            "instances that deliver to each other would send it round for ever.",
            code="delivery_loop",
            hops=list(hops),
        )
    if len(hops) > MAX_HOPS:
        return Conflict(
            f"The lead was delivered {len(hops)} times already (path: {' → '.join(hops)}); "
            f"at most {MAX_HOPS} deliveries in a row are taken.",
            code="delivery_loop",
            hops=list(hops),
        )
    return None
