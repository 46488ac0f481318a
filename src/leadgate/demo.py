"""Demo data: `acme` (a client) and `leadco` (a publisher delivering to acme).

Seeding again (every `make run`) completes what is missing and changes nothing else: the demo's
admin tokens, publisher key and users' passwords are derived from the deployment key (HMAC), so
each start prints the same ones, adds no token and signs nobody out. A password a person changed
stays theirs (and is not printed); a token that no longer matches the key (after a rotation) is
replaced by the new one, and the old demo token revoked.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from leadgate.campaigns import repository as campaign_rows
from leadgate.campaigns import service as campaigns
from leadgate.campaigns.models import Campaign
from leadgate.campaigns.schemas import CampaignCreate, FormField
from leadgate.config import Settings
from leadgate.db import transaction
from leadgate.errors import LeadgateError
from leadgate.instances import repository as instance_rows
from leadgate.instances.service import (
    ADMIN_PREFIX,
    PUBLISHER_PREFIX,
    get_instance,
    issue_admin_token,
    revoke_admin_token,
)
from leadgate.kit.repository import TenantScope
from leadgate.kit.secrets import hash_secret
from leadgate.kit.signing import deployment_keys
from leadgate.leads import lifecycle
from leadgate.leads import service as leads
from leadgate.lists import service as lists
from leadgate.processr import service as processr_jobs
from leadgate.processr.schemas import JobCreate
from leadgate.publishers import repository as publisher_rows
from leadgate.publishers import service as publishers
from leadgate.publishers.models import Publisher
from leadgate.users import service as users
from leadgate.users.schemas import Role
from leadgate.users.service import create_instance

FORM = [
    FormField(name="firstName", label="First name", required=True),
    FormField(name="lastName", label="Last name", required=True),
    FormField(name="email", label="Work email", type="email", required=True),
    FormField(name="phone", label="Phone", type="phone"),
    FormField(name="company", label="Company", required=True),
    FormField(name="jobTitle", label="Job title"),
    FormField(
        name="country", label="Country", type="select", options=["US", "CA", "GB", "DE", "FR"]
    ),
    FormField(name="employees", label="Employees", type="number"),
]

SAMPLE_LEADS: list[dict[str, Any]] = [
    {
        "firstName": "Ada",
        "lastName": "Byron",
        "email": "ada@northwind.example",
        "company": "Northwind Traders",
        "jobTitle": "CTO",
        "country": "GB",
        "employees": 250,
    },
    {
        "firstName": "Grace",
        "lastName": "Hopper",
        "email": "grace@contoso.example",
        "company": "Contoso Ltd",
        "jobTitle": "VP Engineering",
        "country": "US",
        "employees": 5200,
    },
    {
        "firstName": "Linus",
        "lastName": "T",
        "email": "linus@mailinator.com",
        "company": "Globex",
        "jobTitle": "Intern",
        "country": "DE",
        "employees": 12,
    },
]


TOKEN_NAME = "demo"


def demo_secret(settings: Settings, purpose: str, prefix: str = "") -> str:
    """The demo's secret for `purpose`: the same on every start of this deployment."""
    key = deployment_keys(settings)[0]
    mac = hmac.new(key, f"leadgate demo secret: {purpose}".encode(), hashlib.sha256).digest()
    text = base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
    return f"{prefix}_{text}" if prefix else text[:16]


def _instance(session: Session, subdomain: str, name: str, settings: Settings) -> tuple[int, str]:
    """The instance (created if missing) and the demo's admin token of it."""
    existing = get_instance(session, subdomain)
    if existing is None:
        create_instance(session, subdomain, name, admin_email=f"admin@{subdomain}.example")
        existing = get_instance(session, subdomain)
    assert existing is not None
    token = demo_secret(settings, f"{subdomain} admin token", ADMIN_PREFIX)
    scope = TenantScope(session, existing.id)
    working = [t for t in instance_rows.admin_tokens(scope) if t.revoked_at is None]
    if not any(t.token_hash == hash_secret(token) for t in working):
        for old in working:
            if old.name == TOKEN_NAME:  # earlier starts' tokens (or before a key rotation)
                revoke_admin_token(scope, old.id)
        issue_admin_token(session, existing.id, TOKEN_NAME, token)
    return existing.id, token


def _publisher_key(
    scope: TenantScope, publisher_id: int, leadco: TenantScope, campaign_id: int, settings: Settings
) -> str:
    """LeadCo's API key at acme: the one leadco's Connect jobs hold (older demo data, too),
    else the demo's (issued once)."""
    for job in processr_jobs.jobs_of(leadco, campaign_id):
        if job.type.startswith("connect_") and job.config.get("API_Key"):
            return str(job.config["API_Key"])
    key = demo_secret(settings, "leadco key at acme", PUBLISHER_PREFIX)
    keys = publisher_rows.keys_of(scope, publisher_id)
    if not any(k.key_hash == hash_secret(key) and k.revoked_at is None for k in keys):
        publishers.issue_key(scope, publisher_id, key)
    return key


def _user(
    scope: TenantScope, email: str, role: Role, settings: Settings, publisher_id: int | None = None
) -> str | None:
    """A demo user (created if missing) and its password, or None once a person changed it."""
    password = demo_secret(settings, f"password of {email} at instance {scope.instance_id}")
    found = users.find(scope, email)
    if found is None:
        users.create_user(scope, email, password, role, publisher_id=publisher_id)
        return password
    if found.must_change_password:  # a machine's one-time password (the instance's first admin)
        users.set_password(scope, found.id, password, must_change=False)
        return password
    return password if users.password_matches(found, password) else None


def _campaign(scope: TenantScope, name: str) -> Campaign:
    found = campaign_rows.find_by_name(scope, name)
    return found or campaigns.create(scope, CampaignCreate(name=name, fields=FORM))


def _publisher(scope: TenantScope, name: str) -> Publisher:
    found = publisher_rows.find_by_name(scope, name)
    return found or publishers.create(scope, name)


TARGET_ACCOUNTS = ["Northwind Traders", "Contoso Ltd", "Globex", "Initech", "Umbrella Corp"]
COMPETITOR_DOMAINS = ["rival.example", "mailinator.com", "guerrillamail.com"]


def _client_processr(acme: TenantScope, campaign_id: int, settings: Settings) -> None:
    """acme's checks: the ones it shares with publishers are what Connect mirrors."""
    targets = lists.create(acme, "Target Accounts", TARGET_ACCOUNTS)
    competitors = lists.create(acme, "Competitor and disposable domains", COMPETITOR_DOMAINS)
    for body in (
        JobCreate(
            type="required_fields",
            label="Contact details present",
            config={"fields": ["email", "company"]},
            hardfail=True,
        ),
        JobCreate(
            type="validation_list",
            label="Target accounts only",
            visible_to_publishers=True,
            config={
                "list_id": targets.id,
                "field_name": "company",
                "operator": "equal",
                "rule": "pass",
            },
        ),
        JobCreate(
            type="validation_list",
            label="No competitors or throwaway mail",
            visible_to_publishers=True,
            config={
                "list_id": competitors.id,
                "field_name": "email",
                "operator": "endswith",
                "rule": "fail",
            },
        ),
        JobCreate(
            type="simple_conditional_validation",
            label="Countries we sell in",
            visible_to_publishers=True,
            config={"field_name": "country", "operator": "EQUAL", "values": ["US", "CA", "GB"]},
        ),
    ):
        processr_jobs.create(acme, campaign_id, body, settings)


# acme's everyday checks: values tidied before any check, a valid address, no duplicates.
EVERYDAY_CHECKS = (
    JobCreate(
        type="value_transforms",
        label="Tidy values",
        score=0,
        config={
            "rules": [
                {"field_name": "email", "transform": "email_lower"},
                {"field_name": "country", "transform": "upper"},
                {"field_name": "company", "transform": "collapse_spaces"},
                {"field_name": "phone", "transform": "phone_e164", "region": "GB"},
            ]
        },
    ),
    JobCreate(type="email_format", label="Valid email address", config={"field_name": "email"}),
    JobCreate(
        type="duplicate_check",
        label="No duplicates in 90 days",
        hardfail=True,
        config={"field_name": "email", "scope": "campaign", "lookback_days": 90},
    ),
)


def _everyday_checks(acme: TenantScope, campaign_id: int, settings: Settings) -> None:
    """acme's everyday checks, added to a demo campaign that lacks them (older demo data too)."""
    if any(j.type == "duplicate_check" for j in processr_jobs.jobs_of(acme, campaign_id)):
        return
    for body in EVERYDAY_CHECKS:
        processr_jobs.create(acme, campaign_id, body, settings)


def _publisher_processr(
    leadco: TenantScope,
    campaign_id: int,
    client_campaign: int,
    key: str,
    acme: TenantScope,
    settings: Settings,
) -> list[str]:
    """leadco mirrors acme's shared checks and delivers valid leads to acme through Connect."""
    shared = processr_jobs.jobs_of(acme, client_campaign)
    by_label = {j.label: j for j in shared}
    base = {"API_Key": key, "Subdomain": "acme", "Campaign": client_campaign}
    processr_jobs.create(
        leadco,
        campaign_id,
        JobCreate(
            type="connect_validation_list",
            label="Connect - acme target accounts",
            config={
                **base,
                "Campaign_Processr_Job": by_label["Target accounts only"].id,
                "Field_name": "company",
            },
        ),
        settings,
    )
    processr_jobs.create(
        leadco,
        campaign_id,
        JobCreate(
            type="connect_validation_list",
            label="Connect - acme suppression",
            config={
                **base,
                "Campaign_Processr_Job": by_label["No competitors or throwaway mail"].id,
                "Field_name": "email",
                "Pass_if_job_is_gone": True,
            },
        ),
        settings,
    )
    processr_jobs.create(
        leadco,
        campaign_id,
        JobCreate(
            type="connect_simple_conditional_validation",
            label="Connect - acme countries",
            config={
                **base,
                "Campaign_Processr_Job": by_label["Countries we sell in"].id,
                "Field_name": "country",
            },
        ),
        settings,
    )
    return []


def _delivery(
    leadco: TenantScope, campaign_id: int, client_campaign: int, key: str, settings: Settings
) -> list[str]:
    """leadco delivers valid leads to acme (saving it pulls acme's form over HTTP)."""
    if any(j.type == "connect_delivery" for j in processr_jobs.jobs_of(leadco, campaign_id)):
        return []
    config = {
        "API_Key": key,
        "Subdomain": "acme",
        "Campaign": client_campaign,
        "Field_mapping": {f.name: f.name for f in FORM},
    }
    try:
        with leadco.session.begin_nested():
            processr_jobs.create(
                leadco,
                campaign_id,
                JobCreate(type="connect_delivery", label="Deliver to acme", config=config),
                settings,
            )
    except LeadgateError as exc:
        return [
            f"Connect delivery was not added ({exc.code}): acme must be reachable over "
            "HTTP; run `leadgate demo` again while `leadgate serve` runs."
        ]
    return []


def seed(sessions: sessionmaker[Session], settings: Settings) -> dict[str, Any]:
    """Create or complete the demo data; returns URLs and the demo's tokens to print (the same
    on every run)."""
    with transaction(sessions) as session:
        acme_id, acme_token = _instance(session, "acme", "Acme Corp (client)", settings)
        leadco_id, leadco_token = _instance(session, "leadco", "LeadCo (publisher)", settings)
        acme = TenantScope(session, acme_id)
        leadco = TenantScope(session, leadco_id)

        acme_campaign = _campaign(acme, "Acme B2B Software Leads")
        leadco_pub = _publisher(acme, "LeadCo")
        campaigns.grant(acme, acme_campaign.id, leadco_pub.id)
        leadco_campaign = _campaign(leadco, "LeadCo Outbound to Acme")
        leadco_key = _publisher_key(acme, leadco_pub.id, leadco, leadco_campaign.id, settings)

        in_house = _publisher(leadco, "LeadCo Call Center")
        campaigns.grant(leadco, leadco_campaign.id, in_house.id)

        notes: list[str] = []
        if not processr_jobs.jobs_of(acme, acme_campaign.id):
            _client_processr(acme, acme_campaign.id, settings)
        _everyday_checks(acme, acme_campaign.id, settings)
        if not processr_jobs.jobs_of(leadco, leadco_campaign.id):
            notes += _publisher_processr(
                leadco, leadco_campaign.id, acme_campaign.id, leadco_key, acme, settings
            )

        web_users: dict[str, list[dict[str, str | None]]] = {"acme": [], "leadco": []}
        demo_users: list[tuple[TenantScope, str, Role, int | None, str]] = [
            (acme, "admin@acme.example", "admin", None, "admin"),
            (acme, "portal@leadco.example", "publisher", leadco_pub.id, "publisher LeadCo"),
            (leadco, "admin@leadco.example", "admin", None, "admin"),
        ]
        for scope, email, role, publisher_id, shown in demo_users:
            password = _user(scope, email, role, settings, publisher_id)
            if password is None:
                notes.append(f"{email} has a password of its own now; it is not shown.")
            sub = "acme" if scope is acme else "leadco"
            web_users[sub].append({"email": email, "role": shown, "password": password})

    # The key above is committed now, so acme accepts it when the delivery job pulls its form.
    with transaction(sessions) as session:
        leadco = TenantScope(session, leadco_id)
        notes += _delivery(leadco, leadco_campaign.id, acme_campaign.id, leadco_key, settings)
        in_house = _publisher(leadco, "LeadCo Call Center")
        has_leads = leads.search(
            leadco, campaign_id=leadco_campaign.id, status=None, limit=1, cursor=None
        ).items
        if not has_leads:
            for data in SAMPLE_LEADS:
                lifecycle.submit(
                    leadco,
                    leadco_campaign.id,
                    dict(data),
                    publisher_id=in_house.id,
                    max_staleness_s=settings.connect_max_staleness_s,
                )

    base = settings.instance_url
    return {
        "notes": notes,
        "acme": {
            "url": base.format(subdomain="acme"),
            "admin_token": acme_token,
            "campaign_id": acme_campaign.id,
            "publisher_key_for_leadco": leadco_key,
            "web": base.format(subdomain="acme") + "/ui/",
            "web_users": web_users["acme"],
        },
        "leadco": {
            "url": base.format(subdomain="leadco"),
            "admin_token": leadco_token,
            "campaign_id": leadco_campaign.id,
            "web": base.format(subdomain="leadco") + "/ui/",
            "web_users": web_users["leadco"],
        },
        "api_docs": base.format(subdomain="acme").split("/i/")[0] + "/docs",
    }
