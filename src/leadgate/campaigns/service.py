"""Campaigns: create, read, change their form and status, grant publishers."""

from __future__ import annotations

from collections.abc import Sequence

from leadgate.audit import service as audit
from leadgate.campaigns import hooks, repository
from leadgate.campaigns.models import Campaign, CampaignPublisher
from leadgate.campaigns.schemas import CampaignCreate, CampaignOut, CampaignPatch, FormField
from leadgate.kit.repository import TenantScope
from leadgate.publishers import service as publishers


def to_out(campaign: Campaign) -> CampaignOut:
    """The API view of a campaign."""
    return CampaignOut.model_validate(
        {
            "id": campaign.id,
            "name": campaign.name,
            "status": campaign.status,
            "fields": campaign.fields,
        }
    )


def get(scope: TenantScope, campaign_id: int) -> Campaign:
    """A campaign of this instance, or 404 campaign_not_found."""
    return repository.get(scope, campaign_id)


def create(scope: TenantScope, body: CampaignCreate) -> Campaign:
    """A new active campaign."""
    campaign = Campaign(
        name=body.name, status="active", fields=[f.model_dump() for f in body.fields]
    )
    scope.add(campaign)
    scope.session.flush()
    return campaign


def list_all(scope: TenantScope) -> Sequence[Campaign]:
    """Every campaign of the instance, oldest first."""
    return repository.list_all(scope)


def patch(scope: TenantScope, campaign_id: int, body: CampaignPatch) -> Campaign:
    """Rename, pause, resume or end a campaign."""
    campaign = get(scope, campaign_id)
    if body.name is not None:
        campaign.name = body.name
    if body.status is not None:
        campaign.status = body.status
    scope.session.flush()
    return campaign


def replace_fields(scope: TenantScope, campaign_id: int, fields: list[FormField]) -> Campaign:
    """Replace the whole form at once."""
    campaign = get(scope, campaign_id)
    campaign.fields = [f.model_dump() for f in fields]
    scope.session.flush()
    return campaign


def grant(scope: TenantScope, campaign_id: int, publisher_id: int) -> None:
    """Let a publisher send leads into a campaign (idempotent)."""
    get(scope, campaign_id)
    publishers.get(scope, publisher_id)
    if repository.find_grant(scope, campaign_id, publisher_id) is None:
        scope.add(CampaignPublisher(campaign_id=campaign_id, publisher_id=publisher_id))
        scope.session.flush()
        hooks.grant_changed(scope, campaign_id, publisher_id, True)
        audit.record(scope, "grant.added", f"campaign {campaign_id} to publisher {publisher_id}")


def revoke(scope: TenantScope, campaign_id: int, publisher_id: int) -> None:
    """Withdraw a publisher's access to a campaign at once (idempotent)."""
    get(scope, campaign_id)
    publishers.get(scope, publisher_id)
    if repository.delete_grant(scope, campaign_id, publisher_id):
        hooks.grant_changed(scope, campaign_id, publisher_id, False)
        target = f"campaign {campaign_id} from publisher {publisher_id}"
        audit.record(scope, "grant.removed", target)


def granted_ids(scope: TenantScope, publisher_id: int) -> set[int]:
    """Ids of the campaigns this publisher may use."""
    return repository.granted_campaign_ids(scope, publisher_id)


def granted(scope: TenantScope, publisher_id: int) -> list[Campaign]:
    """The campaigns this publisher may send leads into, oldest first."""
    ids = granted_ids(scope, publisher_id)
    return [c for c in list_all(scope) if c.id in ids]
