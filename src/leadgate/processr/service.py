"""Processr jobs of a campaign: add, configure, reorder, delete."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ValidationError

from leadgate.audit import service as audit
from leadgate.campaigns import service as campaigns
from leadgate.campaigns.models import Campaign
from leadgate.config import Settings
from leadgate.errors import InvalidRequest, NotFound
from leadgate.kit.merge_patch import merge_patch
from leadgate.kit.repository import TenantScope
from leadgate.processr import events, repository
from leadgate.processr.models import ProcessrJob
from leadgate.processr.registry import REGISTRY, UnknownJobType
from leadgate.processr.schemas import GroupCondition, JobCreate, JobOut, JobPatch, Tab

TAB_ORDER = {"quality": 0, "enrichment": 1, "integration": 2}


MASK = "••••••••"


def _secret_keys(job_type: str) -> frozenset[str]:
    found = REGISTRY.find(job_type)
    return found.secret_keys if found is not None else frozenset()


def masked(job_type: str, config: dict[str, Any]) -> dict[str, Any]:
    """The config with secrets shown as `••••••••` plus their last 4 characters."""
    out = dict(config)
    for key in _secret_keys(job_type) & set(out):
        value = str(out[key])
        out[key] = MASK + value[-4:] if len(value) > 12 else MASK
    return out


def keep_secrets(
    job_type: str, config: dict[str, Any], old: Mapping[str, Any], sent: Mapping[str, Any]
) -> dict[str, Any]:
    """`config` (what will be stored) with each secret the caller did not give (`sent` leaves
    it out, blank, or masked) kept from the stored config `old`, but only while the keys it is
    bound to stay the same: a stored client key is never sent to another target (InvalidRequest
    `secret_required`, naming the input)."""
    found = REGISTRY.find(job_type)
    if found is None:
        return dict(config)
    out = dict(config)
    moved = sorted(k for k in found.secret_bound_keys if out.get(k) != old.get(k))
    for key in found.secret_keys:
        if key not in old:
            continue
        given = sent.get(key)
        if given and not (isinstance(given, str) and given.startswith(MASK)):
            continue
        if moved:
            message = (
                f"Enter the {key} again: the saved one is kept only while "
                f"{' and '.join(moved)} stays the same."
            )
            raise InvalidRequest(
                message,
                code="secret_required",
                errors=[{"loc": ["config", key], "msg": message, "type": "secret_required"}],
            )
        out[key] = old[key]
    return out


def warnings_in(jobs: Sequence[ProcessrJob]) -> dict[int, list[str]]:
    """Per job of one campaign, what may be wrong though it is allowed: a job that judges by
    the same rule as an earlier one (e.g. a second mirror of one client job)."""
    out: dict[int, list[str]] = {}
    for i, job in enumerate(jobs):
        jt = REGISTRY.get(job.type) if job.type in REGISTRY else None
        for earlier in jobs[:i]:
            if jt and earlier.type == job.type and jt.same_rule(job.config, earlier.config):
                out.setdefault(job.id, []).append(
                    f"Job {earlier.id} “{earlier.label}” of this campaign judges by the same "
                    "rule already: a lead is checked twice and earns its score twice. Delete "
                    "one of them unless that is what you want."
                )
    return out


def warnings_of(scope: TenantScope, job: ProcessrJob) -> list[str]:
    """What may be wrong with this job of its campaign though it is allowed (`warnings_in`)."""
    return warnings_in(jobs_of(scope, job.campaign_id)).get(job.id, [])


def to_out(job: ProcessrJob, warnings: Sequence[str] = ()) -> JobOut:
    """The API view of a job (secrets masked)."""
    return JobOut(
        id=job.id,
        campaign_id=job.campaign_id,
        type=job.type,
        label=job.label,
        config=masked(job.type, job.config),
        score=job.score,
        hardfail=job.hardfail,
        visible_to_publishers=job.visible_to_publishers,
        position=job.position,
        tab=job.tab,
        group=job.group_name,
        condition=GroupCondition.model_validate(job.condition) if job.condition else None,
        catch_all=job.catch_all,
        version=job.version,
        warnings=list(warnings),
    )


def jobs_of(scope: TenantScope, campaign_id: int) -> list[ProcessrJob]:
    """The campaign's jobs in running order: quality, enrichment, integration; by position."""
    rows = repository.campaign_jobs(scope, campaign_id)
    return sorted(rows, key=lambda j: (TAB_ORDER.get(j.tab, 9), j.position, j.id))


def get(scope: TenantScope, campaign_id: int, job_id: int) -> ProcessrJob:
    """A job of this campaign, or 404 job_not_found."""
    job = repository.find_job(scope, campaign_id, job_id)
    if job is None:
        raise NotFound(f"No job {job_id} in campaign {campaign_id}.", code="job_not_found")
    return job


def _field_refs(value: Any, keys: frozenset[str]) -> Iterator[str]:
    """Every campaign field a config names under one of `keys` (also in nested sections)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key in keys and isinstance(item, str):
                yield item
            elif key in keys and isinstance(item, list):
                yield from (f for f in item if isinstance(f, str))
            else:
                yield from _field_refs(item, keys)
    elif isinstance(value, list):
        for item in value:
            yield from _field_refs(item, keys)


def _validated_config(
    scope: TenantScope, campaign: Campaign, job_type: str, config: dict[str, Any]
) -> dict[str, Any]:
    """The config as its type's model accepts it, with its references checked."""
    try:
        type_ = REGISTRY.get(job_type)
    except UnknownJobType:
        known = ", ".join(t.type for t in REGISTRY.all_types())
        raise InvalidRequest(
            f"Unknown job type {job_type!r}; known types: {known}.", code="unknown_job_type"
        ) from None
    try:
        parsed: BaseModel = type_.config_model.model_validate(config)
    except ValidationError as exc:
        errors = [
            {"loc": ["config", *map(str, e["loc"])], "msg": e["msg"], "type": e["type"]}
            for e in exc.errors()
        ]
        detail = "; ".join(f"{'.'.join(e['loc'][1:]) or 'config'}: {e['msg']}" for e in errors[:5])
        raise InvalidRequest(f"The job's config is not valid: {detail}", errors=errors) from exc
    dumped = parsed.model_dump(mode="json")
    known_fields = {f["name"] for f in campaign.fields}
    missing = sorted({f for f in _field_refs(dumped, type_.field_keys) if f not in known_fields})
    if missing:
        raise InvalidRequest(
            f"The campaign {campaign.name!r} has no field(s) {', '.join(missing)}.",
            code="unknown_fields",
            fields=missing,
        )
    type_.check(scope, parsed)
    return dumped


def _tab(job_type: str, requested: Tab | None) -> str:
    natural: str = REGISTRY.get(job_type).tab
    if requested is None or requested == natural:
        return natural
    if {requested, natural} <= {"quality", "enrichment"}:
        return requested
    raise InvalidRequest(
        f"A {job_type} job belongs on the {natural} tab, not {requested}.", code="invalid_tab"
    )


def _check_group(
    campaign: Campaign, group: str | None, condition: GroupCondition | None, catch_all: bool
) -> None:
    if (condition is not None or catch_all) and not group:
        raise InvalidRequest("A condition or catch_all needs a group name.", code="invalid_group")
    if condition is not None and catch_all:
        raise InvalidRequest("A catch-all job has no condition.", code="invalid_group")
    if condition is not None and condition.field not in {f["name"] for f in campaign.fields}:
        raise InvalidRequest(
            f"The campaign {campaign.name!r} has no field {condition.field}.",
            code="unknown_fields",
            fields=[condition.field],
        )


def create(
    scope: TenantScope, campaign_id: int, body: JobCreate, settings: Settings
) -> ProcessrJob:
    """Add a job to the campaign's Processr (at the end of its tab unless a position is given)."""
    campaign = campaigns.get(scope, campaign_id)
    config = _validated_config(scope, campaign, body.type, body.config)
    _check_group(campaign, body.group, body.condition, body.catch_all)
    tab = _tab(body.type, body.tab)
    last = repository.last_position(scope, campaign_id)
    job = ProcessrJob(
        campaign_id=campaign_id,
        type=body.type,
        label=body.label or REGISTRY.get(body.type).title,
        config=config,
        score=body.score,
        hardfail=body.hardfail,
        visible_to_publishers=body.visible_to_publishers,
        position=last + 1,
        tab=tab,
        group_name=body.group,
        condition=body.condition.model_dump() if body.condition else None,
        catch_all=body.catch_all,
        version=1,
    )
    scope.add(job)
    scope.session.flush()
    if body.position is not None:
        move(scope, campaign_id, job.id, body.position)
    events.updated(scope, job)
    REGISTRY.get(job.type).on_saved(scope, job, settings)
    audit.record(scope, "job.created", _audit_target(job), type=job.type, label=job.label)
    return job


def _audit_target(job: ProcessrJob) -> str:
    return f"job {job.id} “{job.label}” of campaign {job.campaign_id}"


def update(
    scope: TenantScope,
    campaign_id: int,
    job_id: int,
    body: JobPatch,
    settings: Settings,
    *,
    replace_config: bool = False,
) -> ProcessrJob:
    """Change a job; a changed definition bumps its version.

    `body.config` is a JSON Merge Patch of the stored config (RFC 7396: keys present replace,
    `null` removes, absent keys stay; a masked secret sent back keeps the stored one). The UI's
    form posts the whole config, which replaces it (`replace_config`): a field it leaves blank is
    cleared, not kept.
    """
    campaign = campaigns.get(scope, campaign_id)
    job = get(scope, campaign_id, job_id)
    was_visible = job.visible_to_publishers
    changes = body.model_dump(exclude_unset=True)
    if "config" in changes and body.config is not None:
        posted = body.config if replace_config else merge_patch(job.config, body.config)
        incoming = keep_secrets(job.type, posted, job.config, body.config)
        job.config = _validated_config(scope, campaign, job.type, incoming)
    if "tab" in changes:
        job.tab = _tab(job.type, body.tab)
    for name in ("label", "score", "hardfail", "visible_to_publishers", "catch_all"):
        if name in changes and changes[name] is not None:
            setattr(job, name, changes[name])
    if "group" in changes:
        job.group_name = body.group
    if "condition" in changes:
        job.condition = body.condition.model_dump() if body.condition else None
    _check_group(
        campaign,
        job.group_name,
        GroupCondition.model_validate(job.condition) if job.condition else None,
        job.catch_all,
    )
    if set(changes) - {"position"}:
        job.version += 1
    scope.session.flush()
    if body.position is not None:
        move(scope, campaign_id, job.id, body.position)
    if was_visible and not job.visible_to_publishers:
        events.deleted(scope, job)
    elif set(changes) - {"position"}:
        events.updated(scope, job)
    if "config" in changes:
        REGISTRY.get(job.type).on_saved(scope, job, settings)
    if changes:
        audit.record(scope, "job.updated", _audit_target(job), changed=sorted(changes))
    return job


def move(scope: TenantScope, campaign_id: int, job_id: int, position: int) -> None:
    """Put a job at a 1-based position among the campaign's jobs; the others shift."""
    rows = sorted(repository.campaign_jobs(scope, campaign_id), key=lambda j: (j.position, j.id))
    moving = next(j for j in rows if j.id == job_id)
    rows.remove(moving)
    rows.insert(min(position, len(rows) + 1) - 1, moving)
    for index, job in enumerate(rows, start=1):
        job.position = index
    scope.session.flush()


def reorder(scope: TenantScope, campaign_id: int, job_ids: Sequence[int]) -> list[ProcessrJob]:
    """Give the campaign's jobs the order of `job_ids` (which must name each job once)."""
    campaigns.get(scope, campaign_id)
    rows = {j.id: j for j in jobs_of(scope, campaign_id)}
    if sorted(job_ids) != sorted(rows):
        raise InvalidRequest(
            "job_ids must list every job of the campaign exactly once.", code="invalid_order"
        )
    for index, job_id in enumerate(job_ids, start=1):
        rows[job_id].position = index
    scope.session.flush()
    audit.record(scope, "job.reordered", f"campaign {campaign_id}", order=list(job_ids))
    return jobs_of(scope, campaign_id)


def delete(scope: TenantScope, campaign_id: int, job_id: int) -> ProcessrJob:
    """Remove a job from the Processr; returns the deleted row."""
    job = get(scope, campaign_id, job_id)
    if job.visible_to_publishers:
        events.deleted(scope, job)
    found = REGISTRY.find(job.type)
    if found is not None:
        found.on_deleted(scope, job)
    audit.record(scope, "job.deleted", _audit_target(job), type=job.type)
    scope.session.delete(job)
    scope.session.flush()
    return job


def jobs_using_list(scope: TenantScope, list_id: int) -> list[int]:
    """Ids of the jobs whose config points at this list."""
    return repository.job_ids_using_list(scope, list_id)
