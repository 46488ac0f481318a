"""Admin API: campaigns, their forms and publisher grants."""

from __future__ import annotations

from fastapi import APIRouter, Response

from leadgate.campaigns import service
from leadgate.campaigns.schemas import CampaignCreate, CampaignOut, CampaignPatch, FieldsReplace
from leadgate.instances.deps import Admin, DbSession
from leadgate.kit.pagination import Page
from leadgate.kit.params import Id
from leadgate.kit.problems import problem_responses
from leadgate.kit.repository import TenantScope

router = APIRouter(tags=["campaigns"], responses=problem_responses(401, 404, 413, 422))


@router.post("/campaigns", status_code=201, response_model=CampaignOut)
def create_campaign(body: CampaignCreate, caller: Admin, session: DbSession) -> CampaignOut:
    """Create a campaign with its form fields."""
    return service.to_out(service.create(TenantScope(session, caller.instance_id), body))


@router.get("/campaigns", response_model=Page[CampaignOut])
def list_campaigns(caller: Admin, session: DbSession) -> Page[CampaignOut]:
    """Every campaign of the instance."""
    scope = TenantScope(session, caller.instance_id)
    return Page[CampaignOut](items=[service.to_out(c) for c in service.list_all(scope)])


@router.get("/campaigns/{campaign_id}", response_model=CampaignOut)
def get_campaign(campaign_id: Id, caller: Admin, session: DbSession) -> CampaignOut:
    """One campaign."""
    return service.to_out(service.get(TenantScope(session, caller.instance_id), campaign_id))


@router.patch("/campaigns/{campaign_id}", response_model=CampaignOut)
def patch_campaign(
    campaign_id: Id, body: CampaignPatch, caller: Admin, session: DbSession
) -> CampaignOut:
    """Rename a campaign or set its status (active, paused, ended)."""
    scope = TenantScope(session, caller.instance_id)
    return service.to_out(service.patch(scope, campaign_id, body))


@router.put("/campaigns/{campaign_id}/fields", response_model=CampaignOut)
def replace_fields(
    campaign_id: Id, body: FieldsReplace, caller: Admin, session: DbSession
) -> CampaignOut:
    """Replace the campaign's form fields as a whole."""
    scope = TenantScope(session, caller.instance_id)
    return service.to_out(service.replace_fields(scope, campaign_id, body.fields))


@router.put("/campaigns/{campaign_id}/publishers/{publisher_id}", status_code=204)
def grant_publisher(
    campaign_id: Id, publisher_id: Id, caller: Admin, session: DbSession
) -> Response:
    """Grant a publisher access to the campaign."""
    service.grant(TenantScope(session, caller.instance_id), campaign_id, publisher_id)
    return Response(status_code=204)


@router.delete("/campaigns/{campaign_id}/publishers/{publisher_id}", status_code=204)
def revoke_publisher(
    campaign_id: Id, publisher_id: Id, caller: Admin, session: DbSession
) -> Response:
    """Revoke a publisher's access to the campaign."""
    service.revoke(TenantScope(session, caller.instance_id), campaign_id, publisher_id)
    return Response(status_code=204)
