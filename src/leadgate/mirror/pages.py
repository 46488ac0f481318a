"""Pages of Connect on the Processr: how each mirrored job stands with the client (and "Sync
now"), the delivery connection of a Connect job (pause, resume, re-pull the client's form), and
the field-mapping editor of its form. The deliveries themselves are in `delivery_pages.py`.

Everything here calls the same services as the API (`connect.service`, `connect.delivery`); the
Processr pages ask this module for the Connect parts they show.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from leadgate.errors import NotFound
from leadgate.instances.deps import DbSession, settings_of
from leadgate.kit.params import Id
from leadgate.kit.repository import TenantScope
from leadgate.mirror import repository, service
from leadgate.mirror.models import ConnectMirror
from leadgate.mirror.schemas import SyncState
from leadgate.processr import pages as processr_pages
from leadgate.processr import service as processr
from leadgate.processr.models import ProcessrJob
from leadgate.processr.registry import REGISTRY
from leadgate.ui.templating import base_url, render, see_other
from leadgate.users.deps import AdminPost, AdminUser, scope_of

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


def processr_url(me: AdminUser, job: ProcessrJob, notice: str) -> str:
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
        is_list=REGISTRY.get(job.type).mirrors_list,
        pass_if_gone=bool(c.get("Pass_if_job_is_gone")),
        words=SYNC_WORDS[sync.state],
    )


def panels_for(scope: TenantScope, jobs: Sequence[ProcessrJob]) -> dict[int, MirrorPanel]:
    """The sync panel of each mirrored job among `jobs` (one query, whatever their number)."""
    mirrored = [j for j in jobs if j.type in REGISTRY.names(reads_mirrors=True)]
    if not mirrored:
        return {}
    mirrors = {m.job_id: m for m in repository.of_jobs(scope, [j.id for j in mirrored])}
    return {j.id: _mirror_panel(j, mirrors.get(j.id)) for j in mirrored}


@router.get("/api/campaigns/{campaign_id}/jobs/{job_id}/connect-panel", response_class=HTMLResponse)
def connect_panel(
    request: Request, campaign_id: Id, job_id: Id, me: AdminUser, session: DbSession
) -> HTMLResponse:
    """The panel alone, for the page's script to refresh while a first sync is pending."""
    scope = scope_of(session, me)
    job = processr.get(scope, campaign_id, job_id)
    panel = processr_pages.panels_for(scope, [job]).get(job.id)
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
    return see_other(processr_url(me, job, SYNC_NOTICES[state.state]))
