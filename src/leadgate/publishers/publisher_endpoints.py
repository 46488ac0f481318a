"""Publisher API (publisher key): what a publisher may see of the client's instance."""

from __future__ import annotations

from fastapi import APIRouter

from leadgate.campaigns import service as campaigns
from leadgate.campaigns.models import Campaign
from leadgate.campaigns.schemas import CampaignSummary, FormField
from leadgate.errors import NotFound
from leadgate.instances.deps import DbSession, Publisher
from leadgate.instances.service import Caller
from leadgate.kit.pagination import Page
from leadgate.kit.repository import TenantScope

router = APIRouter(prefix="/publisher", tags=["publisher API"])


def granted_campaign(scope: TenantScope, caller: Caller, campaign_id: int) -> Campaign:
    """A campaign granted to the calling publisher; any other is 404 campaign_not_found."""
    assert caller.publisher_id is not None
    if campaign_id not in campaigns.granted_ids(scope, caller.publisher_id):
        raise NotFound(f"No campaign {campaign_id} for this key.", code="campaign_not_found")
    return campaigns.get(scope, campaign_id)


@router.get("/campaigns", response_model=Page[CampaignSummary])
def list_granted(caller: Publisher, session: DbSession) -> Page[CampaignSummary]:
    """Campaigns this publisher key may send leads into."""
    assert caller.publisher_id is not None
    scope = TenantScope(session, caller.instance_id)
    ids = campaigns.granted_ids(scope, caller.publisher_id)
    rows = [c for c in campaigns.list_all(scope) if c.id in ids]
    return Page[CampaignSummary](
        items=[CampaignSummary(id=c.id, name=c.name, status=c.status) for c in rows]
    )


@router.get("/campaigns/{campaign_id}/fields", response_model=Page[FormField])
def campaign_fields(campaign_id: int, caller: Publisher, session: DbSession) -> Page[FormField]:
    """The form of a granted campaign."""
    campaign = granted_campaign(TenantScope(session, caller.instance_id), caller, campaign_id)
    return Page[FormField](items=[FormField.model_validate(f) for f in campaign.fields])
