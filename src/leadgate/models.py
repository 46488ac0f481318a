"""Imports every table module so Base.metadata is complete (for Alembic and tests)."""

from leadgate.campaigns.models import Campaign, CampaignPublisher
from leadgate.connect.models import (
    ConnectMirror,
    Delivery,
    DeliveryAttempt,
    DeliveryConnection,
    InboundEvent,
    MirrorValue,
)
from leadgate.instances.models import AdminToken, Instance
from leadgate.leads.models import Lead, LeadHistory
from leadgate.lists.models import ListChange, ListValue, ListVersion, ValidationList
from leadgate.processr.models import ProcessrJob
from leadgate.publishers.models import Publisher, PublisherApiKey
from leadgate.users.models import User, UserSession
from leadgate.webhooks.models import WebhookAttempt, WebhookMessage, WebhookSubscription

__all__ = [
    "AdminToken",
    "Campaign",
    "CampaignPublisher",
    "ConnectMirror",
    "Delivery",
    "DeliveryAttempt",
    "DeliveryConnection",
    "InboundEvent",
    "Instance",
    "Lead",
    "LeadHistory",
    "ListChange",
    "ListValue",
    "ListVersion",
    "MirrorValue",
    "ProcessrJob",
    "Publisher",
    "PublisherApiKey",
    "User",
    "UserSession",
    "ValidationList",
    "WebhookAttempt",
    "WebhookMessage",
    "WebhookSubscription",
]
