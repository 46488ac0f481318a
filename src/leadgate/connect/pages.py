"""Pages of Connect on the Processr: how each mirrored job stands with the client (and "Sync
now"), the delivery connection of a Connect job (pause, resume, re-pull the client's form), and
the field-mapping editor of its form. The deliveries themselves are in `delivery_pages.py`.

Everything here calls the same services as the API (`connect.service`, `connect.delivery`); the
Processr pages ask this module for the Connect parts they show.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy import func, select

from leadgate.campaigns import service as campaigns
from leadgate.config import Settings
from leadgate.connect import delivery, mapping, service
from leadgate.connect import sync as syncing
from leadgate.connect.models import ConnectMirror, Delivery, DeliveryConnection
from leadgate.connect.schemas import SyncState
from leadgate.errors import InvalidRequest, LeadgateError, NotFound
from leadgate.instances.deps import DbSession
from leadgate.jobs.registry import REGISTRY
from leadgate.kit.params import Id
from leadgate.kit.repository import TenantScope
from leadgate.processr import service as processr
from leadgate.processr.models import ProcessrJob
from leadgate.ui import schema_form
from leadgate.ui.deps import AdminPost, AdminUser, scope_of
from leadgate.ui.forms import attempt
from leadgate.ui.schema_form import Choice, MappingLoader, MappingRow, MappingView
from leadgate.ui.templating import base_url, render, see_other

router = APIRouter()

SYNC_WORDS = {
    "ok": "In sync: leads are judged with the client's rule as mirrored here.",
    "pending": "Not mirrored yet: leads wait (pending) and are judged once it is.",
    "unavailable": "The client cannot be reached now: the last good copy keeps judging.",
    "gone": "The client's job was deleted or is no longer shared with you.",
}
SYNC_NOTICES = {
    "ok": "sync_ok",
    "pending": "sync_failed",
    "unavailable": "sync_failed",
    "gone": "sync_gone",
}


def settings_of(request: Request) -> Settings:
    """The deployment's settings, as the app was made with them."""
    return cast(Settings, request.app.state.settings)


def _processr_url(me: AdminUser, job: ProcessrJob, notice: str) -> str:
    return (
        f"{base_url(me.subdomain)}/campaigns/{job.campaign_id}/processr"
        f"?tab={job.tab}&job={job.id}&notice={notice}#job-{job.id}"
    )


# ---------------------------------------------------------------------------------------------
# What the Processr page shows under a Connect job


@dataclass
class MirrorPanel:
    """A mirrored job's sync with the client."""

    job_id: int
    campaign_id: int
    subdomain: str
    remote_campaign: Any
    remote_job: Any
    sync: SyncState
    rule: str
    is_list: bool
    pass_if_gone: bool
    words: str
    kind: str = "mirror"


@dataclass
class ConnectionPanel:
    """A delivery job's connection to the client."""

    job_id: int
    campaign_id: int
    subdomain: str
    remote_campaign: Any
    connection: DeliveryConnection | None
    counts: dict[str, int]
    problems: list[str]
    kind: str = "delivery"

    @property
    def paused(self) -> bool:
        return self.connection is not None and self.connection.state == "paused"


Panel = MirrorPanel | ConnectionPanel


def rule_words(definition: Mapping[str, Any] | None) -> str:
    """The client's rule as mirrored, in a line ("their field company equal list “X” ...")."""
    if not definition:
        return ""
    parts = []
    if definition.get("label"):
        parts.append(f"“{definition['label']}”:")
    parts.append(f"their field {definition.get('field_name')} {definition.get('operator')}")
    listing = definition.get("list")
    if isinstance(listing, dict):
        parts.append(f"list “{listing.get('name')}”")
    values = definition.get("values")
    if isinstance(values, list) and values:
        parts.append("; ".join(str(v) for v in values[:5]) + ("; …" if len(values) > 5 else ""))
    if definition.get("rule"):
        parts.append("(match passes)" if definition["rule"] == "pass" else "(match fails)")
    return " ".join(parts)


def _mirror_panel(job: ProcessrJob, mirror: ConnectMirror | None) -> MirrorPanel:
    sync = service.state_of(mirror)
    c = job.config
    return MirrorPanel(
        job_id=job.id,
        campaign_id=job.campaign_id,
        subdomain=str(c.get("Subdomain", "")),
        remote_campaign=c.get("Campaign"),
        remote_job=c.get("Campaign_Processr_Job"),
        sync=sync,
        rule=rule_words(mirror.definition if mirror else None),
        is_list=syncing.MIRRORED.get(job.type) == "validation_list",
        pass_if_gone=bool(c.get("Pass_if_job_is_gone")),
        words=SYNC_WORDS[sync.state],
    )


def delivery_counts(scope: TenantScope, job_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    """Deliveries per state of each delivery job (one grouped query)."""
    out: dict[int, dict[str, int]] = {j: {} for j in job_ids}
    if not job_ids:
        return out
    rows = scope.session.execute(
        select(Delivery.job_id, Delivery.state, func.count())
        .where(Delivery.instance_id == scope.instance_id, Delivery.job_id.in_(job_ids))
        .group_by(Delivery.job_id, Delivery.state)
    ).all()
    for job_id, state, n in rows:
        out[job_id][state] = int(n)
    return out


def panels_for(scope: TenantScope, jobs: Sequence[ProcessrJob]) -> dict[int, Panel]:
    """The Connect panel of each Connect job among `jobs` (a few queries, whatever their number)."""
    mirrored = [j for j in jobs if j.type in syncing.MIRRORED]
    delivering = [j for j in jobs if j.type == delivery.DELIVERY_TYPE]
    out: dict[int, Panel] = {}
    if mirrored:
        mirrors = {
            m.job_id: m
            for m in scope.session.scalars(
                select(ConnectMirror).where(
                    ConnectMirror.instance_id == scope.instance_id,
                    ConnectMirror.job_id.in_([j.id for j in mirrored]),
                )
            )
        }
        for j in mirrored:
            out[j.id] = _mirror_panel(j, mirrors.get(j.id))
    if delivering:
        ids = [j.id for j in delivering]
        conns = {
            c.job_id: c
            for c in scope.session.scalars(
                select(DeliveryConnection).where(
                    DeliveryConnection.instance_id == scope.instance_id,
                    DeliveryConnection.job_id.in_(ids),
                )
            )
        }
        counts = delivery_counts(scope, ids)
        own_fields = {c.id: c.fields for c in campaigns.list_all(scope)}
        for j in delivering:
            conn = conns.get(j.id)
            problems = (
                mapping.problems(
                    j.config.get("Field_mapping") or {},
                    conn.client_fields,
                    own_fields.get(j.campaign_id, []),
                )
                if conn is not None
                else []
            )
            out[j.id] = ConnectionPanel(
                job_id=j.id,
                campaign_id=j.campaign_id,
                subdomain=str(j.config.get("Subdomain", "")),
                remote_campaign=j.config.get("Campaign"),
                connection=conn,
                counts=counts[j.id],
                problems=problems,
            )
    return out


def panel_of(scope: TenantScope, job: ProcessrJob) -> Panel | None:
    """The Connect panel of one job (None for other job types)."""
    return panels_for(scope, [job]).get(job.id)


@router.get("/api/campaigns/{campaign_id}/jobs/{job_id}/connect-panel", response_class=HTMLResponse)
def connect_panel(
    request: Request, campaign_id: Id, job_id: Id, me: AdminUser, session: DbSession
) -> HTMLResponse:
    """The panel alone, for the page's script to refresh while a first sync is pending."""
    scope = scope_of(session, me)
    panel = panel_of(scope, processr.get(scope, campaign_id, job_id))
    if panel is None:
        raise NotFound(f"The job {job_id} is not a Connect job.", code="not_a_connect_job")
    return render(request, "connect/panel_fragment.html", {"panel": panel}, me=me)


@router.post(
    "/campaigns/{campaign_id}/processr/jobs/{job_id}/sync", response_class=RedirectResponse
)
def sync_now(
    request: Request, campaign_id: Id, job_id: Id, me: AdminPost, session: DbSession
) -> RedirectResponse:
    """Sync the mirror with the client now; the Processr page then shows how it went."""
    scope = scope_of(session, me)
    job = service.connect_job(scope, campaign_id, job_id)
    state = service.sync_now(scope, job, settings_of(request))
    return see_other(_processr_url(me, job, SYNC_NOTICES[state.state]))


def _delivery_job(scope: TenantScope, campaign_id: int, job_id: int) -> ProcessrJob:
    job = processr.get(scope, campaign_id, job_id)
    if job.type != delivery.DELIVERY_TYPE:
        raise NotFound(
            f"The job {job_id} is not a Connect delivery job.", code="not_a_delivery_job"
        )
    return job


@router.post(
    "/campaigns/{campaign_id}/processr/jobs/{job_id}/connection/pause",
    response_class=RedirectResponse,
)
def pause_connection(
    campaign_id: Id, job_id: Id, me: AdminPost, session: DbSession
) -> RedirectResponse:
    """Stop deliveries to the client until someone resumes them."""
    job = _delivery_job(scope_of(session, me), campaign_id, job_id)
    delivery.pause(session, job.id, f"paused by {me.email}")
    return see_other(_processr_url(me, job, "connection_paused"))


@router.post(
    "/campaigns/{campaign_id}/processr/jobs/{job_id}/connection/resume",
    response_class=RedirectResponse,
)
def resume_connection(
    campaign_id: Id, job_id: Id, me: AdminPost, session: DbSession
) -> RedirectResponse:
    """Deliver again; the held deliveries go first, oldest first."""
    job = _delivery_job(scope_of(session, me), campaign_id, job_id)
    delivery.resume(session, job.id)
    return see_other(_processr_url(me, job, "connection_resumed"))


@router.post(
    "/campaigns/{campaign_id}/processr/jobs/{job_id}/connection/refresh-fields",
    response_class=RedirectResponse,
)
def refresh_fields(
    request: Request, campaign_id: Id, job_id: Id, me: AdminPost, session: DbSession
) -> RedirectResponse:
    """Pull the client's form again (after the client changed it)."""
    job = _delivery_job(scope_of(session, me), campaign_id, job_id)
    wrong = delivery.refresh_fields(session, job, settings_of(request))
    return see_other(_processr_url(me, job, "fields_broken" if wrong else "fields_pulled"))


# ---------------------------------------------------------------------------------------------
# The field-mapping editor of a Connect delivery job


def own_field_choices(fields: Sequence[Mapping[str, Any]]) -> list[Choice]:
    """Our campaign's fields as dropdown choices ("Company (companyName)")."""
    out = []
    for f in fields:
        name, label = str(f["name"]), str(f.get("label") or f["name"])
        out.append(Choice(name, name if label == name else f"{label} ({name})"))
    return out


def editor_of(view: Mapping[str, Any], *, saved: bool = False) -> MappingView:
    """The editor's rows from `delivery.field_mapping_view`: the saved (or posted) mapping when
    there is one, else the suggested pairs; each problem beside its row and listed on top
    (`saved`: the job delivers already, so a misfit holds its deliveries)."""
    client_fields: list[dict[str, Any]] = list(view["client_fields"])
    own_fields: list[dict[str, Any]] = list(view["own_fields"])
    suggested: dict[str, str] = dict(view["suggested"])
    chosen: dict[str, str] = dict(view["mapping"]) or suggested
    own_names = {str(f["name"]) for f in own_fields}
    rows = []
    for cf in client_fields:
        key = str(cf["name"])
        row = MappingRow(
            key=key,
            label=str(cf.get("label") or key),
            required=bool(cf.get("required")),
            value=chosen.get(key, ""),
            suggested=suggested.get(key),
        )
        if row.required and not row.value:
            row.error = "The client requires this field: choose one of ours."
        elif row.value and row.value not in own_names:
            row.error = f"Our form has no field {row.value} any more."
        rows.append(row)
    client_names = {r.key for r in rows}
    for key, own in chosen.items():
        if key not in client_names:
            rows.append(
                MappingRow(
                    key=key,
                    label=key,
                    value=own,
                    error="The client's form has no such field any more: choose “not sent”.",
                    gone=True,
                )
            )
    return MappingView(
        rows=rows,
        choices=own_field_choices(own_fields),
        issues=mapping.problems(chosen, client_fields, own_fields),
        issues_heading=(
            "The field mapping is broken: deliveries are held until it fits."
            if saved
            else "The field mapping does not fit the client's form yet:"
        ),
    )


def mapping_loader(
    scope: TenantScope, type_name: str, campaign_id: int, settings: Settings, *, saved: bool
) -> MappingLoader | None:
    """Fills a job form's mapping editor from the client's form (None: the type has none);
    `saved` when the form edits a job that already delivers."""
    if type_name != delivery.DELIVERY_TYPE:
        return None

    def load(key: str, config: dict[str, Any]) -> tuple[MappingView | None, str | None]:
        try:
            with attempt(scope.session):
                view = delivery.field_mapping_view(scope, config, campaign_id, settings)
        except ValidationError as exc:
            names = sorted({str(e["loc"][0]) for e in exc.errors() if e["loc"]} - {key})
            return None, f"Check {', '.join(names) or 'the settings above'} first."
        except LeadgateError as exc:
            return None, exc.detail
        return editor_of(view, saved=saved), None

    return load


class MappingAsk(BaseModel):
    campaign_id: int = Field(ge=1, le=2**63 - 1)
    job_id: int | None = Field(
        default=None, ge=1, le=2**63 - 1, description="A saved job: its secrets fill blank ones."
    )
    key: str = Field(default="Field_mapping", max_length=200)
    config: dict[str, Any] = Field(default_factory=dict)


@router.post("/api/job-types/{job_type}/mapping", response_class=HTMLResponse)
def mapping_editor(
    request: Request, job_type: str, body: MappingAsk, me: AdminPost, session: DbSession
) -> HTMLResponse:
    """The mapping editor for the form so far (the page's script asks when the client changes)."""
    scope = scope_of(session, me)
    campaign = campaigns.get(scope, body.campaign_id)
    if job_type not in REGISTRY:
        raise InvalidRequest(f"There is no job type {job_type!r}.", code="unknown_job_type")
    schema = REGISTRY.get(job_type).config_model.model_json_schema()
    config = dict(body.config)
    if body.job_id is not None:
        stored = processr.get(scope, campaign.id, body.job_id).config
        for key, prop in schema.get("properties", {}).items():
            if schema_form.is_secret(prop) and not config.get(key) and key in stored:
                config[key] = stored[key]
    config = schema_form.coerce(schema, config)
    loader = mapping_loader(
        scope, job_type, campaign.id, settings_of(request), saved=body.job_id is not None
    )
    if loader is None or body.key not in schema.get("properties", {}):
        raise InvalidRequest(f"The {job_type} config has no mapping {body.key!r}.")
    item = schema_form.mapping_input(schema, body.key, config, loader)
    return render(request, "connect/mapping_fragment.html", {"it": item}, me=me)
