"""Imports every table module so Base.metadata is complete (for Alembic and tests)."""

from leadgate.audit.models import AuditEvent
from leadgate.campaigns.models import Campaign, CampaignPublisher
from leadgate.delivery.models import Delivery, DeliveryAttempt, DeliveryConnection
from leadgate.instances.models import AdminToken, Instance, PublisherApiKey
from leadgate.kit.ratelimit import RateCount
from leadgate.kit.sealing import SealingCanary
from leadgate.leads.models import Lead, LeadHistory, LeadKey
from leadgate.lists.models import ListChange, ListValue, ListVersion, ValidationList
from leadgate.mirror.models import ConnectMirror, MirrorValue
from leadgate.peer.models import InboundEvent
from leadgate.processr.models import ProcessrJob
from leadgate.publishers.models import Publisher
from leadgate.review.models import ReasonCategory
from leadgate.stats.models import LeadCount, LeadCountDelta
from leadgate.users.models import User, UserSession
from leadgate.webhooks.models import WebhookAttempt, WebhookMessage, WebhookSubscription

__all__ = [
    "AdminToken",
    "AuditEvent",
    "Campaign",
    "CampaignPublisher",
    "ConnectMirror",
    "Delivery",
    "DeliveryAttempt",
    "DeliveryConnection",
    "InboundEvent",
    "Instance",
    "Lead",
    "LeadCount",
    "LeadCountDelta",
    "LeadHistory",
    "LeadKey",
    "ListChange",
    "ListValue",
    "ListVersion",
    "MirrorValue",
    "ProcessrJob",
    "Publisher",
    "PublisherApiKey",
    "RateCount",
    "ReasonCategory",
    "SealingCanary",
    "User",
    "UserSession",
    "ValidationList",
    "WebhookAttempt",
    "WebhookMessage",
    "WebhookSubscription",
]
