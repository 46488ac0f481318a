"""What a publisher sees of the client's jobs: only visible list and simple conditional jobs."""

from __future__ import annotations

import builtins
import json
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Engine

from leadgate.errors import NotFound
from leadgate.kit.repository import TenantScope
from leadgate.lists import hashing
from leadgate.lists import repository as list_repository
from leadgate.lists import service as lists
from leadgate.lists.hashing import Normalise
from leadgate.lists.models import ValidationList
from leadgate.lists.schemas import ListDelta
from leadgate.processr import repository
from leadgate.processr.events import mirrorable
from leadgate.processr.models import ProcessrJob
from leadgate.processr.registry import REGISTRY, only_list_id


class ListInfo(BaseModel):
    name: str
    version: int
    value_count: int
    # A private list's values come as keyed hashes; `min_length` / `max_length` bound the
    # prefixes / suffixes a mirror hashes for startswith / endswith (the shortest and longest
    # normalised value).
    private: bool = False
    min_length: int | None = None
    max_length: int | None = None


class PublisherJob(BaseModel):
    id: int
    type: str
    label: str
    field_name: str
    operator: str
    rule: str | None = None
    case_sensitive: bool
    version: int


class PublisherJobDefinition(PublisherJob):
    trim: bool | None = None
    # `list` is a contract field name, so the builtin is spelled out for `values`.
    values: builtins.list[str] | None = None
    list: ListInfo | None = None


def visible_jobs(scope: TenantScope, campaign_id: int, job_type: str | None) -> list[ProcessrJob]:
    """The campaign's jobs that the client made visible to publishers."""
    return repository.visible_jobs(scope, campaign_id, mirrorable(), job_type)


def visible_job(scope: TenantScope, campaign_id: int, job_id: int) -> ProcessrJob:
    """A visible job, or 404 job_gone (deleted, hidden, or never there: all look the same)."""
    for job in visible_jobs(scope, campaign_id, None):
        if job.id == job_id:
            return job
    raise NotFound(
        f"The job {job_id} no longer exists or is not visible to publishers.", code="job_gone"
    )


def _shared(scope: TenantScope, job: ProcessrJob) -> dict[str, Any]:
    """The job's type says what publishers see of its config."""
    type_ = REGISTRY.get(job.type)
    return type_.shared_definition(scope, type_.config_model.model_validate(job.config))


def summary(scope: TenantScope, job: ProcessrJob) -> PublisherJob:
    """The list entry of a job."""
    base = {"id": job.id, "type": job.type, "label": job.label, "version": job.version}
    return PublisherJob.model_validate(base | _shared(scope, job))


def definition(scope: TenantScope, job: ProcessrJob) -> PublisherJobDefinition:
    """The full definition a mirror copies."""
    base = {"id": job.id, "type": job.type, "label": job.label, "version": job.version}
    return PublisherJobDefinition.model_validate(base | _shared(scope, job))


def definition_body(defn: PublisherJobDefinition) -> dict[str, Any]:
    """The JSON of a definition; a public list's entry keeps exactly the v1 members."""
    body = defn.model_dump(mode="json")
    listing = body.get("list")
    if isinstance(listing, dict) and not listing.get("private"):
        for key in ("private", "min_length", "max_length"):
            listing.pop(key, None)
    return body


def _list_row(scope: TenantScope, job: ProcessrJob) -> ValidationList | None:
    list_id = only_list_id(job.type, job.config)
    return None if list_id is None else list_repository.find(scope, list_id)


def etag(defn: PublisherJobDefinition) -> str:
    """A strong ETag that changes with the job's version and its list's version."""
    list_version = defn.list.version if defn.list else 0
    return f'"j{defn.id}-v{defn.version}-l{list_version}"'


def list_of(scope: TenantScope, job: ProcessrJob) -> ValidationList:
    """The list behind a visible list job."""
    row = _list_row(scope, job)
    if row is None:
        raise NotFound(f"The job {job.id} has no list values.", code="not_found")
    return row


def delta(scope: TenantScope, row: ValidationList, since: int | None) -> ListDelta | None:
    """The change since `since`, when the change log covers it."""
    if since is None:
        return None
    return lists.changes_since(scope.session, row, since)


def normalise_of(defn: PublisherJobDefinition) -> Normalise:
    """How the job compares, as a private list's hashes are made for it."""
    return Normalise(trim=defn.trim is not False, casefold=not defn.case_sensitive)


def full_snapshot(
    engine: Engine, list_id: int, normalise: Normalise, batch: int = 20_000
) -> Iterator[bytes]:
    """`{"list_version", "mode": "full", "values"}` streamed from one consistent snapshot.

    When the list is private in that snapshot (whatever the request saw before), `values` are
    the keyed hashes of the values normalised as `normalise` says, followed by an `encoding`
    member (last: it states the shortest and longest value, known at the end).
    """
    with engine.connect() as conn:
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            found = list_repository.snapshot_key_any_instance(conn, list_id)
            version, stored_key, key_id = found if found is not None else (None, None, None)
            hashed = normalise if stored_key is not None and key_id is not None else None
            hasher = hashing.Hasher(hashing.key_bytes(stored_key) if stored_key else b"")
            yield f'{{"list_version":{json.dumps(version)},"mode":"full","values":['.encode()
            # A server-side cursor of the driver in the same transaction, `batch` rows per fetch,
            # one encoder call per batch: 1M values in ~1 s instead of ~3.2 s through
            # SQLAlchemy's yield_per and one json.dumps per value (bench/bench_snapshot.py).
            first = True
            shortest, longest = 0, 0
            for values in list_repository.snapshot_values(conn, list_id, batch):
                if hashed is not None:
                    forms = [hashed.list_value(v) for v in values]
                    if forms:
                        sizes = [len(f) for f in forms]
                        shortest = min(shortest, *sizes) if longest else min(sizes)
                        longest = max(longest, *sizes)
                    values = [hasher.digest(f.encode()).hex() for f in forms]
                chunk = json.dumps(values, ensure_ascii=False, separators=(",", ":"))[1:-1]
                yield (chunk if first else "," + chunk).encode()
                first = False
            if hashed is None:
                yield b"]}"
                return
            assert stored_key is not None and key_id is not None
            encoding = hashing.encoding(key_id, hashed, stored_key, (shortest, longest))
            yield b'],"encoding":' + json.dumps(encoding).encode() + b"}"


def private_delta(
    scope: TenantScope, row: ValidationList, since: int | None, normalise: Normalise
) -> dict[str, Any] | None:
    """The hashed change of a private list since `since`, when the change log covers it."""
    found = delta(scope, row, since)
    return None if found is None else lists.hashed_delta(scope.session, row, found, normalise)


def delta_body(d: ListDelta) -> dict[str, Any]:
    """The JSON of a delta answer."""
    return {"list_version": d.list_version, "mode": "delta", "added": d.added, "removed": d.removed}
