"""Imports every table module so Base.metadata is complete (for Alembic and tests)."""

from leadgate.campaigns.models import Campaign, CampaignPublisher
from leadgate.instances.models import AdminToken, Instance
from leadgate.leads.models import Lead, LeadHistory
from leadgate.publishers.models import Publisher, PublisherApiKey

__all__ = [
    "AdminToken",
    "Campaign",
    "CampaignPublisher",
    "Instance",
    "Lead",
    "LeadHistory",
    "Publisher",
    "PublisherApiKey",
]
