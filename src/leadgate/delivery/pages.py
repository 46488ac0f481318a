"""Pages of Connect deliveries: the list with filters and counts per state, dead letters first,
each with its attempts, last error and the client's verdict; retry one, or every dead one of a
campaign. The lead page shows a lead's deliveries through `lead_deliveries`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel, Field, ValidationError

from leadgate.campaigns import service as campaigns
from leadgate.config import Settings
from leadgate.delivery import mapping, repository
from leadgate.delivery import service as delivery
from leadgate.delivery.config import ConnectDeliveryConfig
from leadgate.delivery.models import Delivery, DeliveryAttempt, DeliveryConnection
from leadgate.errors import InvalidRequest, LeadgateError
from leadgate.instances.deps import DbSession, settings_of
from leadgate.kit.params import Id
from leadgate.kit.repository import TenantScope
from leadgate.mirror.pages import processr_url
from leadgate.processr import service as processr
from leadgate.processr.models import ProcessrJob
from leadgate.processr.pages import with_stored_secrets
from leadgate.processr.plugin import JobType
from leadgate.processr.registry import REGISTRY
from leadgate.ui import schema_form
from leadgate.ui.forms import attempt
from leadgate.ui.schema_form import Choice, MappingLoader, MappingRow, MappingView
from leadgate.ui.templating import base_url, render, see_other
from leadgate.users.deps import AdminPost, AdminUser, scope_of

router = APIRouter()

PAGE_SIZE = 50
ATTEMPTS_SHOWN = 10
# The order of the state filter: what needs a person first.
DELIVERY_STATES = {
    "dead": "Dead letters: gave up, retry by hand",
    "held": "Held: connection paused or mapping broken",
    "queued": "Queued: on their way (or waiting for a retry)",
    "delivered": "Delivered",
}


@dataclass(frozen=True)
class DeliveryFilter:
    """What the deliveries page shows: all optional."""

    campaign_id: int | None = None
    job_id: int | None = None
    state: str | None = None

    def query_string(self, with_state: bool = True) -> str:
        """The filter as URL parameters."""
        parts = []
        if self.campaign_id:
            parts.append(f"campaign_id={self.campaign_id}")
        if self.job_id:
            parts.append(f"job_id={self.job_id}")
        if self.state and with_state:
            parts.append(f"state={self.state}")
        return "&".join(parts)


def _id(value: str, what: str) -> int | None:
    if not value:
        return None
    if not value.isdigit() or not 1 <= int(value) < 2**63:
        raise InvalidRequest(f"There is no such {what}.")
    return int(value)


def parse_filter(campaign_id: str, job_id: str, state: str) -> DeliveryFilter:
    """The filter from the query string (or a form); anything unreadable is InvalidRequest."""
    if state and state not in DELIVERY_STATES:
        raise InvalidRequest(f"The state is one of {', '.join(DELIVERY_STATES)}.")
    return DeliveryFilter(
        campaign_id=_id(campaign_id, "campaign"), job_id=_id(job_id, "job"), state=state or None
    )


@dataclass
class DeliveryRow:
    """A delivery as the pages show it: where it goes, and its attempts (latest last)."""

    delivery: Delivery
    job_label: str
    client: str
    campaign_name: str
    attempts: list[DeliveryAttempt] = field(default_factory=list)
    earlier_attempts: int = 0


_CURSOR = re.compile(r"^(dead|rest|state)-(\d{1,19})$")


def find_deliveries(
    scope: TenantScope, flt: DeliveryFilter, *, limit: int, cursor: str | None
) -> tuple[list[Delivery], str | None]:
    """A page of deliveries, newest first; without a state filter the dead letters come first.

    Keyset pages in two runs (dead, then the rest), so no page reads the rows before it.
    """
    # (cursor kind, state, all states but this one)
    runs: list[tuple[str, str | None, str | None]] = (
        [("state", flt.state, None)]
        if flt.state
        else [("dead", "dead", None), ("rest", None, "dead")]
    )
    start, after = 0, None
    if cursor:
        found = _CURSOR.fullmatch(cursor)
        kinds = [name for name, _, _ in runs]
        if not found or found.group(1) not in kinds:
            raise InvalidRequest("The cursor is not one this page handed out.")
        start, after = kinds.index(found.group(1)), int(found.group(2))
    rows: list[tuple[int, Delivery]] = []
    for index in range(start, len(runs)):
        _, state, except_state = runs[index]
        got = repository.newest(
            scope,
            campaign_id=flt.campaign_id,
            job_id=flt.job_id,
            state=state,
            except_state=except_state,
            before=after if index == start else None,
            limit=limit + 1 - len(rows),
        )
        rows.extend((index, d) for d in got)
        if len(rows) > limit:
            break
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = f"{runs[rows[-1][0]][0]}-{rows[-1][1].id}" if more and rows else None
    return [d for _, d in rows], next_cursor


def state_counts(scope: TenantScope, flt: DeliveryFilter) -> dict[str, int]:
    """Deliveries per state under the filter (its state aside)."""
    counts = {s: 0 for s in DELIVERY_STATES}
    counts.update(repository.count_by_state(scope, campaign_id=flt.campaign_id, job_id=flt.job_id))
    return counts


def delivery_rows(scope: TenantScope, deliveries: Sequence[Delivery]) -> list[DeliveryRow]:
    """Deliveries with their job, client, campaign and latest attempts (three queries)."""
    if not deliveries:
        return []
    ids = [d.id for d in deliveries]
    jobs = repository.jobs(scope, {d.job_id for d in deliveries})
    names = {c.id: c.name for c in campaigns.list_all(scope)}
    attempts: dict[int, list[DeliveryAttempt]] = {i: [] for i in ids}
    for a in repository.attempts(scope, ids):
        attempts[a.delivery_id].append(a)
    out = []
    for d in deliveries:
        job = jobs.get(d.job_id)
        log = attempts[d.id]
        out.append(
            DeliveryRow(
                delivery=d,
                job_label=job.label if job else f"Job {d.job_id}",
                client=str(job.config.get("Subdomain", "")) if job else "",
                campaign_name=names.get(d.campaign_id, f"Campaign {d.campaign_id}"),
                attempts=log[-ATTEMPTS_SHOWN:],
                earlier_attempts=max(0, len(log) - ATTEMPTS_SHOWN),
            )
        )
    return out


def lead_deliveries(scope: TenantScope, lead_id: int) -> list[DeliveryRow]:
    """A lead's deliveries with the client's answers, for the lead page."""
    return delivery_rows(scope, repository.for_lead(scope, lead_id))


@router.get("/deliveries", response_class=HTMLResponse)
def deliveries_page(
    request: Request,
    me: AdminUser,
    session: DbSession,
    campaign_id: str = "",
    job_id: str = "",
    state: str = "",
    cursor: str | None = None,
) -> HTMLResponse:
    """Deliveries to clients, dead letters first; attempts, last error, the client's verdict."""
    scope = scope_of(session, me)
    flt = parse_filter(campaign_id, job_id, state)
    found, next_cursor = find_deliveries(scope, flt, limit=PAGE_SIZE, cursor=cursor)
    all_campaigns = campaigns.list_all(scope)
    return render(
        request,
        "connect/deliveries.html",
        {
            "title": "Deliveries",
            "filter": flt,
            "rows": delivery_rows(scope, found),
            "next_cursor": next_cursor,
            "first_page": cursor is None,
            "counts": state_counts(scope, flt),
            "dead": repository.dead_per_campaign(scope, flt.campaign_id),
            "campaigns": all_campaigns,
            "campaign_names": {c.id: c.name for c in all_campaigns},
            "state_words": DELIVERY_STATES,
        },
        me=me,
    )


def _back(campaign_id: str, job_id: str, state: str) -> str:
    """The deliveries page a form came from (its filter, if it reads)."""
    try:
        qs = parse_filter(campaign_id, job_id, state).query_string()
    except InvalidRequest:
        qs = ""
    return qs + ("&" if qs else "")


@router.post("/deliveries/{delivery_id}/retry", response_class=RedirectResponse)
def retry_delivery(
    delivery_id: Id,
    me: AdminPost,
    session: DbSession,
    campaign_id: Annotated[str, Form(max_length=20)] = "",
    job_id: Annotated[str, Form(max_length=20)] = "",
    state: Annotated[str, Form(max_length=20)] = "",
) -> RedirectResponse:
    """Give a dead (or held) delivery a fresh set of attempts."""
    delivery.retry_delivery(scope_of(session, me), delivery_id)
    return see_other(
        f"{base_url(me.subdomain)}/deliveries?{_back(campaign_id, job_id, state)}notice=retried"
    )


@router.post("/campaigns/{campaign_id}/deliveries/retry-dead", response_class=RedirectResponse)
def retry_dead(campaign_id: Id, me: AdminPost, session: DbSession) -> RedirectResponse:
    """Retry every dead delivery of a campaign, oldest first."""
    scope = scope_of(session, me)
    campaign = campaigns.get(scope, campaign_id)
    delivery.retry_dead(scope, campaign.id)
    return see_other(
        f"{base_url(me.subdomain)}/deliveries?campaign_id={campaign.id}&notice=retried_all"
    )


# ---------------------------------------------------------------------------------------------
# What the Processr page shows under a Connect delivery job


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


def panels_for(scope: TenantScope, jobs: Sequence[ProcessrJob]) -> dict[int, ConnectionPanel]:
    """The connection panel of each delivery job among `jobs` (a few queries in all)."""
    delivering = [j for j in jobs if delivery.delivers(j)]
    out: dict[int, ConnectionPanel] = {}
    if delivering:
        ids = [j.id for j in delivering]
        conns = repository.connections(scope, ids)
        counts = repository.count_by_job_and_state(scope, ids)
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


@router.post(
    "/campaigns/{campaign_id}/processr/jobs/{job_id}/connection/pause",
    response_class=RedirectResponse,
)
def pause_connection(
    campaign_id: Id, job_id: Id, me: AdminPost, session: DbSession
) -> RedirectResponse:
    """Stop deliveries to the client until someone resumes them."""
    scope = scope_of(session, me)
    job = delivery.delivery_job(scope, campaign_id, job_id)
    delivery.pause(scope, job.id, f"paused by {me.email}")
    return see_other(processr_url(me, job, "connection_paused"))


@router.post(
    "/campaigns/{campaign_id}/processr/jobs/{job_id}/connection/resume",
    response_class=RedirectResponse,
)
def resume_connection(
    campaign_id: Id, job_id: Id, me: AdminPost, session: DbSession
) -> RedirectResponse:
    """Deliver again; the held deliveries go first, oldest first."""
    scope = scope_of(session, me)
    job = delivery.delivery_job(scope, campaign_id, job_id)
    delivery.resume(scope, job.id)
    return see_other(processr_url(me, job, "connection_resumed"))


@router.post(
    "/campaigns/{campaign_id}/processr/jobs/{job_id}/connection/refresh-fields",
    response_class=RedirectResponse,
)
def refresh_fields(
    request: Request, campaign_id: Id, job_id: Id, me: AdminPost, session: DbSession
) -> RedirectResponse:
    """Pull the client's form again (after the client changed it)."""
    scope = scope_of(session, me)
    job = delivery.delivery_job(scope, campaign_id, job_id)
    wrong = delivery.refresh_fields(session, job, settings_of(request))
    return see_other(processr_url(me, job, "fields_broken" if wrong else "fields_pulled"))


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
    scope: TenantScope, jt: JobType[Any], campaign_id: int, settings: Settings, saved: bool
) -> MappingLoader | None:
    """Fills a job form's mapping editor from the client's form (None: the type has none);
    `saved` when the form edits a job that already delivers."""
    if not issubclass(jt.config_model, ConnectDeliveryConfig):
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
        config = with_stored_secrets(REGISTRY.get(job_type), config, stored)
    config = schema_form.coerce(schema, config)
    loader = mapping_loader(
        scope, REGISTRY.get(job_type), campaign.id, settings_of(request), body.job_id is not None
    )
    if loader is None or body.key not in schema.get("properties", {}):
        raise InvalidRequest(f"The {job_type} config has no mapping {body.key!r}.")
    item = schema_form.mapping_input(schema, body.key, config, loader)
    return render(request, "connect/mapping_fragment.html", {"it": item}, me=me)
