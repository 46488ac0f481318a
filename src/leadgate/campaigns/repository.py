"""Queries on campaigns and their publisher grants."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select

from leadgate.campaigns.models import Campaign, CampaignPublisher
from leadgate.kit.repository import TenantScope


def get(scope: TenantScope, campaign_id: int) -> Campaign:
    """A campaign of this instance, or 404 campaign_not_found."""
    return scope.get(Campaign, campaign_id, missing="campaign_not_found", what="campaign")


def list_all(scope: TenantScope) -> Sequence[Campaign]:
    """Every campaign of the instance, oldest first."""
    return scope.session.scalars(scope.select(Campaign).order_by(Campaign.id)).all()


def find_by_name(scope: TenantScope, name: str) -> Campaign | None:
    """The first campaign of the instance with this name, if any."""
    return scope.session.scalars(scope.select(Campaign).where(Campaign.name == name)).first()


def find_grant(scope: TenantScope, campaign_id: int, publisher_id: int) -> CampaignPublisher | None:
    """The grant of this campaign to this publisher, if any."""
    return scope.session.scalars(
        scope.select(CampaignPublisher).where(
            CampaignPublisher.campaign_id == campaign_id,
            CampaignPublisher.publisher_id == publisher_id,
        )
    ).one_or_none()


def delete_grant(scope: TenantScope, campaign_id: int, publisher_id: int) -> bool:
    """Delete the grant of this campaign to this publisher; whether there was one."""
    gone = scope.session.execute(
        delete(CampaignPublisher).where(
            CampaignPublisher.instance_id == scope.instance_id,
            CampaignPublisher.campaign_id == campaign_id,
            CampaignPublisher.publisher_id == publisher_id,
        )
    )
    return bool(gone.rowcount)  # type: ignore[attr-defined]


def granted_campaign_ids(scope: TenantScope, publisher_id: int) -> set[int]:
    """Ids of the campaigns granted to this publisher."""
    rows = scope.session.scalars(
        select(CampaignPublisher.campaign_id).where(
            CampaignPublisher.instance_id == scope.instance_id,
            CampaignPublisher.publisher_id == publisher_id,
        )
    )
    return set(rows)


def find(scope: TenantScope, campaign_id: int) -> Campaign | None:
    """A campaign of this instance, or None (a lead's campaign that is gone)."""
    return scope.session.scalars(
        scope.select(Campaign).where(Campaign.id == campaign_id)
    ).one_or_none()


def granted_publisher_ids(scope: TenantScope, campaign_id: int) -> list[int]:
    """Ids of the publishers granted the campaign."""
    return list(
        scope.session.scalars(
            select(CampaignPublisher.publisher_id).where(
                CampaignPublisher.instance_id == scope.instance_id,
                CampaignPublisher.campaign_id == campaign_id,
            )
        )
    )
