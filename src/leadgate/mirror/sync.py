"""Keeping a mirror in step with the client's job: definition by ETag, values by delta.

Everything a sync changes is written in one transaction, so judging (which reads committed
rows only) never sees a half-applied delta.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy.orm import Session

from leadgate.config import Settings
from leadgate.errors import NotFound
from leadgate.instances.models import Instance
from leadgate.kit import metrics
from leadgate.kit.repository import TenantScope
from leadgate.lists import hashing
from leadgate.lists.hashing import Normalise
from leadgate.mirror import repository
from leadgate.mirror.config import ConnectConfig
from leadgate.mirror.models import ConnectMirror
from leadgate.peer.client import (
    NotModified,
    PeerClient,
    PeerError,
    PeerGone,
    PeerRejected,
    PeerUnavailable,
)
from leadgate.processr import repository as processr_repository
from leadgate.processr.models import ProcessrJob
from leadgate.processr.registry import REGISTRY
from leadgate.webhooks.urls import instance_url

log = logging.getLogger(__name__)

EVENTS = ["job.updated", "job.deleted"]


def events_url(settings: Settings, our_subdomain: str, job_id: int) -> str:
    """Where the client sends this mirror's job events."""
    return instance_url(settings.instance_url, our_subdomain) + f"/api/v1/connect/events/{job_id}"


def ensure_mirror(session: Session, job: ProcessrJob) -> ConnectMirror:
    """The mirror row of a Connect job, created or re-pointed after a config change."""
    config = ConnectConfig.model_validate(job.config)
    mirror = repository.find(TenantScope(session, job.instance_id), job.id)
    target = (config.Subdomain, config.Campaign, config.Campaign_Processr_Job)
    if mirror is None:
        mirror = ConnectMirror(job_id=job.id, instance_id=job.instance_id, state="pending")
        session.add(mirror)
    elif (mirror.subdomain, mirror.remote_campaign_id, mirror.remote_job_id) != target:
        _reset(session, mirror)
    mirror.subdomain, mirror.remote_campaign_id, mirror.remote_job_id = target
    session.flush()
    return mirror


def _reset(session: Session, mirror: ConnectMirror) -> None:
    """Forget what was mirrored (the job now points at another client job)."""
    repository.clear_values(session, mirror.job_id)
    mirror.state = "pending"
    mirror.definition = None
    mirror.version = mirror.list_version = None
    mirror.value_count = 0
    mirror.encoding = mirror.hash_key = None
    mirror.etag = None
    mirror.webhook_id = None
    mirror.webhook_secret = None


def sync(
    session: Session,
    job: ProcessrJob,
    settings: Settings,
    *,
    transport: httpx.BaseTransport | None = None,
) -> ConnectMirror:
    """Bring the mirror up to date with the client; the state says how that went.

    NotFound (job_not_found) when the job was deleted meanwhile.
    """
    # The job row first, then the mirror's: the order a delete of the job takes them in.
    if repository.lock_job(TenantScope(session, job.instance_id), job.id) is None:
        raise NotFound(f"The job {job.id} no longer exists.", code="job_not_found")
    mirror = ensure_mirror(session, job)
    # Lock the row, then re-read it: a sync that waited here for another one must see what that
    # one committed (versions, webhook), or it pulls every value again and subscribes twice
    # (found by bench/bench_connect.py: 3 subscriptions, 2 of them with a lost secret).
    session.refresh(mirror, with_for_update=True)
    config = ConnectConfig.model_validate(job.config)
    now = datetime.now(UTC)
    mirror.checked_at = now
    our = session.get(Instance, job.instance_id)
    assert our is not None
    try:
        with PeerClient.of(settings, config.Subdomain, config.API_Key, transport) as peer:
            mirrors = REGISTRY.get(job.type)
            _pull(session, peer, mirror, config, mirrors.mirrored_type, mirrors.mirrors_list)
            mirror.state, mirror.synced_at = "ok", now
            mirror.last_error = mirror.error_since = None
            _subscribe(peer, mirror, events_url(settings, our.subdomain, job.id))
    except PeerGone as exc:
        metrics.SYNC_ERRORS.labels("gone").inc()
        mirror.state, mirror.synced_at = "gone", now
        mirror.last_error = str(exc)
        mirror.error_since = mirror.error_since or now
    except PeerError as exc:
        # Unreachable, 5xx, 429, refused key, odd answers: never "gone". The last good mirror
        # keeps judging; with none yet, leads wait.
        metrics.SYNC_ERRORS.labels("unavailable").inc()
        mirror.state = "unavailable" if mirror.definition is not None else "pending"
        mirror.last_error = str(exc)
        mirror.error_since = mirror.error_since or now
        if isinstance(exc, PeerUnavailable) and exc.credentials_rejected:
            mirror.last_error = f"The client refused the API key: {exc}"
    session.flush()
    # Judging views of this job are cached per campaign stamp in every process: move it.
    processr_repository.touch_inputs(TenantScope(session, job.instance_id), job.id)
    return mirror


def _pull(
    session: Session,
    peer: PeerClient,
    mirror: ConnectMirror,
    config: ConnectConfig,
    mirrored_type: str,
    with_values: bool,
) -> None:
    announced, announced_list = mirror.announced_version, mirror.announced_list_version
    mirror.announced_version = mirror.announced_list_version = None
    if announced is not None and announced == mirror.version and mirror.definition is not None:
        # The client's event says the definition is the one we have: only values may move.
        if with_values and announced_list != mirror.list_version:
            _pull_values(session, peer, mirror, config)
            listing = mirror.definition.get("list")
            if isinstance(listing, dict):  # what the pages show of the list, kept in step
                now: dict[str, Any] = {
                    "version": mirror.list_version,
                    "value_count": mirror.value_count,
                    "private": mirror.encoding is not None,
                }
                if mirror.encoding is not None:
                    now["min_length"] = mirror.encoding.get("min_length")
                    now["max_length"] = mirror.encoding.get("max_length")
                mirror.definition = {**mirror.definition, "list": {**listing, **now}}
        return
    known = mirror.etag if mirror.definition is not None else None
    got = peer.job(config.Campaign, config.Campaign_Processr_Job, etag=known)
    if isinstance(got, NotModified):
        return
    if got.get("type") != mirrored_type:
        raise PeerGone(
            f"The client's job {config.Campaign_Processr_Job} is a {got.get('type')}, "
            f"not a {mirrored_type}.",
            status=404,
            code="job_gone",
        )
    etag = got.pop("_etag", None)
    moved = with_values and _hashed_otherwise(mirror, got)
    if with_values and (moved or (got.get("list") or {}).get("version") != mirror.list_version):
        _pull_values(session, peer, mirror, config, full=moved)
    mirror.definition = got
    mirror.version = got.get("version")
    mirror.etag = etag


def _hashed_otherwise(mirror: ConnectMirror, definition: dict[str, Any]) -> bool:
    """Whether what we hold no longer fits the definition: raw values of a private list,
    hashes of a public one, or hashes normalised otherwise than the job now compares."""
    private = bool((definition.get("list") or {}).get("private"))
    if private != (mirror.encoding is not None):
        return True
    if not private or mirror.encoding is None:
        return False
    wanted = Normalise(
        trim=definition.get("trim") is not False,
        casefold=not definition.get("case_sensitive", False),
    )
    return mirror.encoding.get("normalise") != wanted.as_json()


def _pull_values(
    session: Session,
    peer: PeerClient,
    mirror: ConnectMirror,
    config: ConnectConfig,
    *,
    full: bool = False,
) -> None:
    """The values since the version we hold (all of them when we hold none, or when `full`
    or the change came made another way than what we hold: another key, hashes or not)."""
    since = None if full else mirror.list_version
    body = peer.values(config.Campaign, config.Campaign_Processr_Job, since=since)
    if since is not None and not _fits(mirror, body):
        body = peer.values(config.Campaign, config.Campaign_Processr_Job, since=None)
    apply_values(session, mirror, body)


def _fits(mirror: ConnectMirror, body: dict[str, Any]) -> bool:
    """Whether a delta answer applies to what the mirror holds."""
    encoding = body.get("encoding")
    if body.get("mode") != "delta":
        return True
    if not isinstance(encoding, dict) or mirror.encoding is None:
        return encoding is None and mirror.encoding is None
    return all(encoding.get(k) == mirror.encoding.get(k) for k in ("scheme", "key_id", "normalise"))


# Hashed values as the client sends them, run together: lowercase hex of SHA-256 HMACs.
_HEX = re.compile(r"[0-9a-f]*")
DIGEST_HEX = 64


def _all_digests(values: Any) -> bool:
    """Whether these are lowercase hex SHA-256 digests (checked run together: one regex
    over 64 MB of 1M digests, not one per digest)."""
    if not isinstance(values, list) or not all(type(v) is str for v in values):
        return False
    joined = "".join(values)
    return len(joined) == DIGEST_HEX * len(values) and _HEX.fullmatch(joined) is not None


def checked_encoding(body: dict[str, Any]) -> tuple[dict[str, Any], str] | None:
    """The encoding of a hashed answer (without its key) and the key; None for raw values.
    A malformed one is the client's error (PeerRejected): we keep what we hold."""
    encoding = body.get("encoding")
    if encoding is None:
        return None
    try:
        if not isinstance(encoding, dict) or encoding.get("scheme") != hashing.SCHEME:
            raise ValueError(f"unknown encoding {encoding!r:.200}")
        key = str(encoding["key"])
        hashing.key_bytes(key)
        normalise = Normalise.of(encoding.get("normalise")).as_json()
        max_length = int(encoding["max_length"])
        min_length = int(encoding.get("min_length") or 1)
        key_id = str(encoding["key_id"])[:64]
    except (KeyError, TypeError, ValueError) as exc:
        raise PeerRejected(f"The client's hashed values are not readable: {exc}") from exc
    if not all(_all_digests(body.get(k) or []) for k in ("values", "added", "removed")):
        raise PeerRejected("The client's hashed values are not hex SHA-256 digests.")
    held = {
        "scheme": hashing.SCHEME,
        "key_id": key_id,
        "normalise": normalise,
        "min_length": min_length,
        "max_length": max_length,
    }
    return held, key


def apply_values(session: Session, mirror: ConnectMirror, body: dict[str, Any]) -> None:
    """Apply a `delta` or `full` values answer to the mirror (inside the caller's transaction).

    A hashed answer (a private list) leaves hashes only: a full one replaces every value we
    held, raw values of the list before it became private included.
    """
    hashed = checked_encoding(body)
    if hashed is None:
        mirror.encoding = mirror.hash_key = None
    else:
        mirror.encoding, mirror.hash_key = hashed
    if body.get("mode") == "delta":
        # Counted from the rows really deleted and inserted: a count(*) over a 1M-value
        # mirror took ~200 ms of every small delta (bench/bench_connect.py).
        count = mirror.value_count
        removed = list(body.get("removed") or [])
        added = list(body.get("added") or [])
        if removed:
            count -= repository.remove_values(session, mirror.job_id, removed)
        if added:
            count += repository.add_values(session, mirror.job_id, added)
    else:
        count = repository.replace_values(session, mirror.job_id, body.get("values") or [])
    mirror.value_count = count
    mirror.list_version = body.get("list_version")


def _subscribe(peer: PeerClient, mirror: ConnectMirror, url: str) -> None:
    """Ask the client to push job events to us (once); polling covers us if it refuses."""
    if mirror.webhook_id is not None:
        return
    try:
        created = peer.subscribe(url, EVENTS)
    except PeerError as exc:
        log.warning("the client did not take our webhook (%s); polling only", exc)
        return
    mirror.webhook_id = int(created["id"])
    mirror.webhook_secret = str(created["secret"])
