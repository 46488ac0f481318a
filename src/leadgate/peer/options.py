"""What a client instance offers a Connect job's dropdowns: its campaigns, its shared jobs."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

from leadgate.config import Settings
from leadgate.errors import InvalidRequest
from leadgate.kit.subdomains import check_subdomain
from leadgate.peer import remote
from leadgate.peer.client import PeerClient


def _peer(config: Mapping[str, Any], settings: Settings) -> PeerClient:
    key, subdomain = config.get("API_Key"), config.get("Subdomain")
    if not key or not subdomain:
        raise InvalidRequest("Fill in API_Key and Subdomain first.", code="connect_incomplete")
    check_subdomain(str(subdomain))
    return PeerClient.of(settings, str(subdomain), str(key))


def campaigns(config: Mapping[str, Any], settings: Settings) -> list[tuple[Any, str]]:
    """(id, label) of the client's campaigns this key can see."""
    with _peer(config, settings) as peer:
        items = remote.call(peer.campaigns)
    return [(c["id"], f"{c['name']} ({c['status']})") for c in items]


def jobs(
    config: Mapping[str, Any], settings: Settings, job_type: str, *, with_sizes: bool
) -> list[tuple[Any, str]]:
    """(id, label) of the client's shared jobs of one type in the chosen campaign.

    `with_sizes`: the jobs read lists, and each label says how many values the list holds.
    """
    campaign = config.get("Campaign")
    if not campaign:
        raise InvalidRequest("Choose the client's Campaign first.", code="connect_incomplete")
    out = []
    with _peer(config, settings) as peer:
        found = remote.call(lambda: peer.jobs(int(campaign), job_type))
        for j in found:
            size = ""
            if with_sizes:
                d = remote.call(partial(peer.job, int(campaign), int(j["id"])))
                listing = d.get("list") or {} if isinstance(d, dict) else {}
                size = f", {listing.get('value_count', '?')} values"
            out.append((j["id"], f"{j['label']} — {j['field_name']} {j['operator']}{size}"))
    return out
