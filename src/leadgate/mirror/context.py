"""Mirrors as judging sees them: read with their version, values compiled and cached."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial

from sqlalchemy.orm import Session

from leadgate.lists import hashing
from leadgate.lists.hashing import Normalise
from leadgate.lists.matcher import HashedList, ListMatcher, MatcherCache, compile_list
from leadgate.mirror import repository
from leadgate.mirror.models import ConnectMirror
from leadgate.mirror.views import MirrorView

# Keyed by (our job id, mirrored list version): a new version is compiled on first use, in
# every process, so all processes judge with the newest mirror as soon as it is committed.
MIRROR_MATCHERS = MatcherCache()


class VersionMoved(Exception):
    """The mirror changed between reading its version and reading its values."""


def _values_at(session: Session, job_id: int, list_version: int) -> list[str]:
    """The mirror's values, read in one statement together with the version they belong to."""
    rows = repository.values_with_version(session, job_id)
    if not rows or rows[0][0] != list_version:
        raise VersionMoved(job_id)
    return [r[1] for r in rows if r[1] is not None]


def _matcher_of(mirror: ConnectMirror) -> tuple[str, Callable[[Iterable[str]], ListMatcher]]:
    """The cache variant and compiler of what the mirror holds: raw values, or the hashes of
    a private list (with the key and normalisation they were made with)."""
    encoding, key = mirror.encoding, mirror.hash_key
    if encoding is None or key is None:
        return "", compile_list
    normalise = Normalise.of(encoding.get("normalise"))
    span = (int(encoding.get("min_length") or 1), int(encoding.get("max_length") or 0))
    variant = f"{encoding.get('key_id')}:{normalise.casefold}:{normalise.trim}:{span}"
    raw_key = hashing.key_bytes(key)
    return variant, lambda digests: HashedList(digests, raw_key, normalise, span)


def compiled(session: Session, mirror: ConnectMirror) -> ListMatcher | None:
    """The compiled values (or hashes) of a list mirror at its current version."""
    if mirror.list_version is None:
        return None
    for _ in range(3):
        try:
            version = mirror.list_version
            variant, compiler = _matcher_of(mirror)
            return MIRROR_MATCHERS.get(
                mirror.job_id,
                version,
                partial(_values_at, session, mirror.job_id, version),
                variant=variant,
                compiler=compiler,
            )
        except VersionMoved:
            session.refresh(mirror)
            if mirror.list_version is None:
                return None
    return None


def load(session: Session, job_ids: Iterable[int]) -> dict[tuple[str, int, int], MirrorView]:
    """Mirror views of these Connect jobs, keyed like their config names the client job.

    Cached with the campaign's jobs until the stamp moves: every change of a mirror moves its
    job's inputs version (`mirror.sync`), so no view outlives the mirror it was read from.
    """
    ids = list(job_ids)
    if not ids:
        return {}
    mirrors = repository.of_jobs_any_instance(session, ids)
    out: dict[tuple[str, int, int], MirrorView] = {}
    for m in mirrors:
        out[(m.subdomain, m.remote_campaign_id, m.remote_job_id)] = MirrorView(
            state=m.state,  # type: ignore[arg-type]
            definition=m.definition,
            version=m.version,
            list_version=m.list_version,
            compiled=compiled(session, m) if m.definition else None,
            subdomain=m.subdomain,
            remote_job_id=m.remote_job_id,
            synced_at=m.synced_at,
        )
    return out
