"""Pages: a campaign's Processr by tab, and job forms generated from each type's config schema.

The config form comes from the job type's JSON Schema (see leadgate/ui/schema_form.py); its
dropdowns are filled by the same options service as `POST /job-types/{type}/options`, here
behind `POST /ui/api/job-types/{type}/options` for the page's script (session cookie + CSRF).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field, ValidationError
from starlette.datastructures import FormData

from leadgate.campaigns import service as campaigns
from leadgate.campaigns.models import Campaign
from leadgate.config import Settings
from leadgate.errors import InvalidRequest, LeadgateError
from leadgate.instances.deps import AppSettings, DbSession, settings_of
from leadgate.kit.hooks import Hook
from leadgate.kit.params import Id
from leadgate.kit.repository import TenantScope
from leadgate.lists import service as lists
from leadgate.processr import options, service
from leadgate.processr.models import ProcessrJob
from leadgate.processr.options import OptionsOut, OptionsRequest
from leadgate.processr.plugin import JobType
from leadgate.processr.registry import REGISTRY, UnknownJobType
from leadgate.processr.schemas import JobCreate, JobPatch
from leadgate.ui import schema_form
from leadgate.ui.forms import Problems, attempt, from_error, from_validation
from leadgate.ui.schema_form import Choice, FormValues
from leadgate.ui.templating import base_url, render, see_other
from leadgate.users.deps import AdminPost, AdminUser, scope_of

router = APIRouter()

# Panels under jobs (a mirror's sync, a delivery's connection) and mapping editors come from the
# packages that own them; `leadgate.plugins` connects them.
job_panels: Hook[[TenantScope, Sequence[ProcessrJob]], Mapping[int, Any]] = Hook(
    "processr.job_panels"
)
mapping_loaders: Hook[
    [TenantScope, JobType[Any], int, Settings, bool], schema_form.MappingLoader | None
] = Hook("processr.mapping_loaders")


def panels_for(scope: TenantScope, jobs: Sequence[ProcessrJob]) -> dict[int, Any]:
    """Every panel the connected packages show under these jobs, by job id."""
    out: dict[int, Any] = {}
    for panels in job_panels(scope, jobs):
        out.update(panels)
    return out


def mapping_loader(
    scope: TenantScope, jt: JobType[Any], campaign_id: int, settings: Settings, saved: bool
) -> schema_form.MappingLoader | None:
    """The loader of the type's mapping editor, if a connected package has one."""
    return next((m for m in mapping_loaders(scope, jt, campaign_id, settings, saved) if m), None)


TABS = {
    "quality": "Quality Assurance",
    "enrichment": "Enrichment",
    "integration": "Integration",
}
# Settings every job has, besides its config (their inputs are named like JobCreate's fields).
COMMON_NAMES = (
    "label",
    "score",
    "hardfail",
    "visible_to_publishers",
    "tab",
    "group",
    "condition",
    "condition.field",
    "condition.values",
    "catch_all",
)


def with_stored_secrets(
    jt: JobType[Any], config: Mapping[str, Any], stored: Mapping[str, Any]
) -> dict[str, Any]:
    """A posted config whose blank secrets are the saved job's (the browser never sees them),
    while the keys they are bound to are unchanged; otherwise they stay blank (a dropdown then
    asks for the key instead of calling another target with the saved one)."""
    try:
        return service.keep_secrets(jt.type, dict(config), stored, config)
    except InvalidRequest:
        return dict(config)


def job_type(name: str) -> JobType[Any]:
    """A registered job type, or InvalidRequest naming the known ones."""
    try:
        return REGISTRY.get(name)
    except UnknownJobType:
        raise InvalidRequest(f"There is no job type {name!r}.", code="unknown_job_type") from None


def types_for(tab: str) -> list[JobType[Any]]:
    """Job types that may be added on a tab (quality and enrichment types go on either)."""
    if tab == "integration":
        return [t for t in REGISTRY.all_types() if t.tab == "integration"]
    return [t for t in REGISTRY.all_types() if t.tab != "integration"]


def _tab_of(value: str) -> str:
    return value if value in TABS else "quality"


def summary(job: ProcessrJob, list_names: dict[int, str]) -> str:
    """What a job checks, in a line ("company equal Target accounts (pass)").

    The config keys every type shares are read here; the type adds what only it knows.
    """
    c = job.config
    field = c.get("field_name") or c.get("Field_name")
    parts: list[str] = []
    if isinstance(c.get("fields"), list):
        parts.append(", ".join(str(f) for f in c["fields"]))
    if field:
        parts.append(str(field))
    if c.get("operator"):
        parts.append(str(c["operator"]))
    if isinstance(c.get("list_id"), int):
        parts.append(f"list “{list_names.get(c['list_id'], c['list_id'])}”")
    if isinstance(c.get("values"), list) and c["values"]:
        shown = "; ".join(str(v) for v in c["values"][:5])
        parts.append(shown + ("; …" if len(c["values"]) > 5 else ""))
    if isinstance(c.get("sections"), list):
        n = len(c["sections"])
        parts.append(f"{n} condition{'s' if n != 1 else ''}, {c.get('overall', 'ALL')} must hold")
    if c.get("rule"):
        parts.append("(match passes)" if c["rule"] == "pass" else "(match fails)")
    found = REGISTRY.find(job.type)
    if found is not None:
        try:
            own = found.summary(found.config_model.model_validate(c), list_names)
        except ValidationError:
            own = ""
        if own:
            parts.append(own)
    return " ".join(parts)


@router.get("/campaigns/{campaign_id}/processr", response_class=HTMLResponse)
def processr_page(
    request: Request, campaign_id: Id, me: AdminUser, session: DbSession, tab: str = "quality"
) -> HTMLResponse:
    """The campaign's jobs on the Quality Assurance, Enrichment and Integration tabs."""
    scope = scope_of(session, me)
    campaign = campaigns.get(scope, campaign_id)
    current = _tab_of(tab)
    jobs = service.jobs_of(scope, campaign_id)
    list_names = {row.id: row.name for row in lists.list_all(scope)}
    shown = [j for j in jobs if j.tab == current]
    warnings = service.warnings_in(jobs)
    rows = [
        {
            "job": j,
            "type_title": REGISTRY.get(j.type).title if j.type in REGISTRY else j.type,
            "summary": summary(j, list_names),
            "warnings": warnings.get(j.id, []),
        }
        for j in shown
    ]
    return render(
        request,
        "processr/page.html",
        {
            "title": f"Processr · {campaign.name}",
            "campaign": campaign,
            "tabs": TABS,
            "tab": current,
            "counts": {t: sum(1 for j in jobs if j.tab == t) for t in TABS},
            "checks_nothing": all(j.tab == "integration" for j in jobs),
            "rows": rows,
            "types": [
                {
                    "type": t.type,
                    "title": t.title,
                    "description": t.description,
                }
                for t in types_for(current)
            ],
            "highlight": request.query_params.get("job"),
            "panels": panels_for(scope, shown),
        },
        me=me,
    )


def _field_choices(campaign: Campaign) -> list[Choice]:
    return [
        Choice(f["name"], f"{f.get('label') or f['name']} ({f['name']})")
        if (f.get("label") or f["name"]) != f["name"]
        else Choice(f["name"], f["name"])
        for f in campaign.fields
    ]


def _loader(
    scope: TenantScope, type_name: str, campaign_id: int, settings: Settings
) -> schema_form.OptionsLoader:
    """Fills option dropdowns through the options service; its errors show beside the field."""

    def load(key: str, config: dict[str, Any]) -> tuple[list[Choice], str | None]:
        request = OptionsRequest(field=key, campaign_id=campaign_id, config=config)
        try:
            with attempt(scope.session):
                found = options.options(scope, type_name, request, settings)
        except LeadgateError as exc:
            return [], exc.detail
        return [Choice(str(o.value), o.label) for o in found], None

    return load


def _common_values(job: ProcessrJob | None, jt: JobType[Any], tab: str) -> dict[str, Any]:
    if job is None:
        return {
            "label": "",
            "score": "10",
            "hardfail": False,
            "visible_to_publishers": False,
            "tab": tab if jt.tab != "integration" else "integration",
            "group": "",
            "condition.field": "",
            "condition.values": "",
            "catch_all": False,
        }
    return {
        "label": job.label,
        "score": str(job.score),
        "hardfail": job.hardfail,
        "visible_to_publishers": job.visible_to_publishers,
        "tab": job.tab,
        "group": job.group_name or "",
        "condition.field": (job.condition or {}).get("field", ""),
        "condition.values": "; ".join((job.condition or {}).get("values", [])),
        "catch_all": job.catch_all,
    }


def _form_page(
    request: Request,
    me: AdminUser,
    scope: TenantScope,
    campaign: Campaign,
    jt: JobType[Any],
    *,
    job: ProcessrJob | None,
    config: dict[str, Any],
    common: dict[str, Any],
    problems: Problems | None = None,
    status: int = 200,
) -> HTMLResponse:
    problems = problems or Problems()
    schema = jt.config_model.model_json_schema()
    inputs = schema_form.build(
        schema,
        config,
        load_options=_loader(scope, jt.type, campaign.id, settings_of(request)),
        field_choices=_field_choices(campaign),
        stored=job.config if job else None,
        load_mapping=mapping_loader(scope, jt, campaign.id, settings_of(request), job is not None),
    )
    _place_reference_errors(problems, inputs, common)
    problems.settle([*schema_form.names(inputs), *COMMON_NAMES])
    schema_form.attach(inputs, problems)
    return render(
        request,
        "processr/job_form.html",
        {
            "title": f"{'Configure' if job else 'Add'} {jt.title}",
            "campaign": campaign,
            "job_type": jt,
            "description": schema.get("description", ""),
            "job": job,
            "inputs": inputs,
            "common": common,
            "problems": problems,
            "field_choices": _field_choices(campaign),
            "tabs": TABS,
            "panel": panels_for(scope, [job]).get(job.id) if job else None,
        },
        me=me,
        status=status,
    )


def _place_reference_errors(
    problems: Problems, inputs: list[schema_form.Input], common: dict[str, Any]
) -> None:
    """Service errors that name our fields or lists, not a location, go beside the input."""
    for name, message in list(problems.refs.items()):
        placed = False
        if common.get("condition.field") == name:
            problems.add("condition.field", message)
            placed = True
        for item in inputs:
            names_field = item.key in schema_form.FIELD_NAME_KEYS and item.value == name
            if names_field or (name == "list_id" and item.key == "list_id"):
                problems.add(item.name, message)
                placed = True
        if not placed and message not in problems.form:
            problems.form.append(message)


# Errors of the Connect services, by the input they are about.
CONNECT_ERRORS = {
    "mapping_incomplete": "config.Field_mapping",
    "connect_credentials_rejected": "config.API_Key",
    "connect_no_instance": "config.Subdomain",
    "connect_unreachable": "config.Subdomain",
    "connect_rejected": "config.Campaign",
}


def _problems_of(exc: LeadgateError) -> Problems:
    if exc.extra.get("errors"):
        return from_error(exc)
    if exc.code in CONNECT_ERRORS:
        return Problems(fields={CONNECT_ERRORS[exc.code]: exc.detail})
    if exc.code == "unknown_fields":
        fields = [str(f) for f in exc.extra.get("fields") or []]
        return Problems(refs={f: exc.detail for f in fields})
    if exc.code == "list_not_found":
        return Problems(refs={"list_id": exc.detail})
    if exc.code == "invalid_group":
        return Problems(fields={"group": exc.detail})
    if exc.code == "invalid_tab":
        return Problems(fields={"tab": exc.detail})
    return from_error(exc)


def _posted_common(form: FormData) -> dict[str, Any]:
    def text(name: str) -> str:
        value = form.get(name)
        return value.strip() if isinstance(value, str) else ""

    return {
        "label": text("label"),
        "score": text("score"),
        "hardfail": text("hardfail") == "true",
        "visible_to_publishers": text("visible_to_publishers") == "true",
        "tab": text("tab"),
        "group": text("group"),
        "condition.field": text("condition.field"),
        "condition.values": text("condition.values"),
        "catch_all": text("catch_all") == "true",
    }


def _job_fields(common: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    """The JobCreate / JobPatch body the common inputs and the config describe."""
    condition = None
    if common["condition.field"] or common["condition.values"]:
        condition = {"field": common["condition.field"], "values": common["condition.values"]}
    return {
        "label": common["label"] or None,
        "config": config,
        "score": common["score"] or 10,
        "hardfail": common["hardfail"],
        "visible_to_publishers": common["visible_to_publishers"],
        "tab": common["tab"] or None,
        "group": common["group"] or None,
        "condition": condition,
        "catch_all": common["catch_all"],
    }


@router.get("/campaigns/{campaign_id}/processr/new", response_class=HTMLResponse)
def new_job_page(
    request: Request,
    campaign_id: Id,
    me: AdminUser,
    session: DbSession,
    type: str = "",
    tab: str = "quality",
) -> HTMLResponse:
    """The form of a new job of the chosen type."""
    scope = scope_of(session, me)
    campaign = campaigns.get(scope, campaign_id)
    jt = job_type(type)
    return _form_page(
        request,
        me,
        scope,
        campaign,
        jt,
        job=None,
        config={},
        common=_common_values(None, jt, _tab_of(tab)),
    )


@router.post(
    "/campaigns/{campaign_id}/processr/new", response_class=HTMLResponse, response_model=None
)
async def create_job(
    request: Request, campaign_id: Id, me: AdminPost, session: DbSession, type: str = ""
) -> Response:
    """Add the job; on a problem the form comes back with each message beside its input."""
    form = await request.form()
    return await run_in_threadpool(_save, request, me, session, campaign_id, type, None, form)


@router.get("/campaigns/{campaign_id}/processr/jobs/{job_id}", response_class=HTMLResponse)
def job_page(
    request: Request, campaign_id: Id, job_id: Id, me: AdminUser, session: DbSession
) -> HTMLResponse:
    """Configure a job."""
    scope = scope_of(session, me)
    campaign = campaigns.get(scope, campaign_id)
    job = service.get(scope, campaign_id, job_id)
    jt = job_type(job.type)
    return _form_page(
        request,
        me,
        scope,
        campaign,
        jt,
        job=job,
        config=dict(job.config),
        common=_common_values(job, jt, job.tab),
    )


@router.post(
    "/campaigns/{campaign_id}/processr/jobs/{job_id}",
    response_class=HTMLResponse,
    response_model=None,
)
async def update_job(
    request: Request, campaign_id: Id, job_id: Id, me: AdminPost, session: DbSession
) -> Response:
    """Save a job's configuration and settings."""
    form = await request.form()
    return await run_in_threadpool(_save, request, me, session, campaign_id, "", job_id, form)


def _save(
    request: Request,
    me: AdminPost,
    session: DbSession,
    campaign_id: int,
    type_name: str,
    job_id: int | None,
    form: FormData,
) -> Response:
    scope = scope_of(session, me)
    campaign = campaigns.get(scope, campaign_id)
    job = service.get(scope, campaign_id, job_id) if job_id is not None else None
    jt = job_type(job.type if job else type_name)
    schema = jt.config_model.model_json_schema()
    config, problems = schema_form.parse(schema, FormValues(form, form.getlist))
    common = _posted_common(form)
    saved: ProcessrJob | None = None
    if not problems:
        try:
            fields = _job_fields(common, config)
            with attempt(session):
                if job is None:
                    body = JobCreate.model_validate({"type": jt.type, **fields})
                    saved = service.create(scope, campaign_id, body, settings_of(request))
                else:
                    patch = JobPatch.model_validate(fields)
                    saved = service.update(
                        scope,
                        campaign_id,
                        job.id,
                        patch,
                        settings_of(request),
                        replace_config=True,
                    )
        except ValidationError as exc:
            problems = from_validation(exc)
        except LeadgateError as exc:
            problems = _problems_of(exc)
    if saved is None:
        return _form_page(
            request,
            me,
            scope,
            campaign,
            jt,
            job=job,
            config=config,
            common=common,
            problems=problems,
            status=422,
        )
    notice = "job_saved" if job else "job_added"
    return see_other(
        f"{base_url(me.subdomain)}/campaigns/{campaign_id}/processr"
        f"?tab={saved.tab}&job={saved.id}&notice={notice}"
    )


@router.post(
    "/campaigns/{campaign_id}/processr/jobs/{job_id}/move", response_class=RedirectResponse
)
def move_job(
    campaign_id: Id,
    job_id: Id,
    me: AdminPost,
    session: DbSession,
    direction: Annotated[str, Form(max_length=10)] = "",
) -> RedirectResponse:
    """Move a job one place up or down within its tab."""
    scope = scope_of(session, me)
    jobs = service.jobs_of(scope, campaign_id)
    job = service.get(scope, campaign_id, job_id)
    same_tab = [j for j in jobs if j.tab == job.tab]
    index = same_tab.index(job)
    other = index - 1 if direction == "up" else index + 1
    if direction in ("up", "down") and 0 <= other < len(same_tab):
        ids = [j.id for j in jobs]
        a, b = ids.index(job.id), ids.index(same_tab[other].id)
        ids[a], ids[b] = ids[b], ids[a]
        service.reorder(scope, campaign_id, ids)
    return see_other(
        f"{base_url(me.subdomain)}/campaigns/{campaign_id}/processr"
        f"?tab={job.tab}&job={job.id}&notice=moved"
    )


@router.post(
    "/campaigns/{campaign_id}/processr/jobs/{job_id}/delete", response_class=RedirectResponse
)
def delete_job(campaign_id: Id, job_id: Id, me: AdminPost, session: DbSession) -> RedirectResponse:
    """Remove a job from the Processr."""
    job = service.delete(scope_of(session, me), campaign_id, job_id)
    return see_other(
        f"{base_url(me.subdomain)}/campaigns/{campaign_id}/processr"
        f"?tab={job.tab}&notice=job_deleted"
    )


class UiOptionsRequest(BaseModel):
    field: str = Field(max_length=200)
    campaign_id: int | None = Field(default=None, ge=1, le=2**63 - 1)
    config: dict[str, Any] = Field(default_factory=dict)
    job_id: int | None = Field(
        default=None, ge=1, le=2**63 - 1, description="A saved job: its secrets fill blank ones."
    )


@router.post("/api/job-types/{job_type}/options", response_model=OptionsOut)
def job_type_options(
    job_type: str, body: UiOptionsRequest, me: AdminPost, session: DbSession, settings: AppSettings
) -> OptionsOut:
    """Choices for a dropdown of a job form, given the form so far (the page's script asks)."""
    scope = scope_of(session, me)
    config = dict(body.config)
    if body.job_id is not None and body.campaign_id is not None and job_type in REGISTRY:
        stored = service.get(scope, body.campaign_id, body.job_id).config
        config = with_stored_secrets(REGISTRY.get(job_type), config, stored)
    if job_type in REGISTRY:
        config = schema_form.coerce(REGISTRY.get(job_type).config_model.model_json_schema(), config)
    request = OptionsRequest(field=body.field, campaign_id=body.campaign_id, config=config)
    return OptionsOut(options=options.options(scope, job_type, request, settings))
