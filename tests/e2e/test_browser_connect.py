"""Connect in a real browser: Playwright drives Debian's chromium against two real `leadgate
serve` processes of one deployment (as in test_connect_mirror / test_connect_delivery).

The client (acme) lives behind server A, the port of LEADGATE_INSTANCE_URL; the publisher
(leadco) works in the browser on server B. Walk: a "Connect - Validation List" job through the
progressive form; its sync state turns ok; a lead that fails shows the client's flag; the client
changes its list and the verdict changes; a Connect delivery job through the mapping editor; the
client marks the delivered lead invalid and the publisher's lead follows; a dead letter is
retried from the deliveries page.

Screenshots go to $LEADGATE_SCREENSHOTS when set (docs/screenshots for the README), else to a
temporary folder.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy.orm import Session, sessionmaker

from leadgate.db import transaction
from leadgate.instances.service import get_instance
from leadgate.kit.repository import TenantScope
from leadgate.users import service as users
from leadgate.users.service import create_instance
from tests.e2e.browser import blocked_by_policy, require_chromium, sign_in
from tests.servers import Server, free_port, server_env, wait_for

pytestmark = pytest.mark.browser

require_chromium(
    "/usr/bin/chromium is missing: apt-get install chromium (the Connect browser test is SKIPPED)"
)

CLIENT_FORM = [
    {"name": "company", "label": "Company", "required": True},
    {"name": "email", "label": "Email", "required": True},
    {"name": "jobTitle", "label": "Job title", "required": True},
    {"name": "country", "label": "Country"},
]
OUR_FORM = [
    {"name": "companyName", "label": "Company"},
    {"name": "workEmail", "label": "Email"},
    {"name": "role", "label": "Position"},
    {"name": "countryCode", "label": "Country"},
]
PASSWORD = "leadco browser password"


class Instance:
    """One instance of the deployment, reached through one server with its admin token."""

    def __init__(self, server: Server, subdomain: str, token: str) -> None:
        self.server, self.subdomain, self.token = server, subdomain, token

    @property
    def ui(self) -> str:
        return f"{self.server.url}/i/{self.subdomain}/ui"

    def ok(self, method: str, path: str, status: int = 200, **kw: Any) -> Any:
        r = httpx.request(
            method,
            f"{self.server.url}/i/{self.subdomain}/api/v1{path}",
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=30,
            **kw,
        )
        assert r.status_code == status, f"{method} {path}: {r.status_code} {r.text}"
        return r.json() if r.content else None


@pytest.fixture(scope="module")
def deployment(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Server, Server]]:
    logs = tmp_path_factory.mktemp("browser-connect-logs")
    a_port, b_port = free_port(), free_port()
    env = server_env(database_url, a_port, LEADGATE_DELIVERY_RETRY_BASE_S="0.3")
    a = Server(a_port, env, logs / "a.log").start()
    b = Server(b_port, env, logs / "b.log").start()
    yield a, b
    a.stop()
    b.stop()


def _instance(sessions: sessionmaker[Session], server: Server, prefix: str) -> Instance:
    sub = f"{prefix}-{secrets.token_hex(3)}"
    with transaction(sessions) as session:
        token = create_instance(session, sub).admin_token
    return Instance(server, sub, token)


def _admin(sessions: sessionmaker[Session], instance: Instance, email: str) -> None:
    """A person who has chosen their password already (the first sign-in is another test's)."""
    with transaction(sessions) as session:
        found = get_instance(session, instance.subdomain)
        assert found is not None
        users.create_user(TenantScope(session, found.id), email, PASSWORD, "admin")


def _add_job(page: Page, campaign_url: str, tab: str, search: str, heading: str) -> None:
    page.goto(f"{campaign_url}/processr?tab={tab}")
    combo = page.get_by_role("combobox", name="Add a job")
    combo.click()
    combo.fill(search)
    combo.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text(heading)


def _pick(page: Page, label: str, option: str) -> None:
    """Choose in a dropdown that the page fills from the client (waits for the choice)."""
    select = page.get_by_label(label, exact=True)
    expect(select.locator("option", has_text=option)).to_have_count(1)
    select.select_option(label=select.locator("option", has_text=option).inner_text())


def _reload_until(page: Page, predicate: Any, timeout: float = 30.0) -> None:
    """Reload until the page shows what the background work (sync, delivery, event) changed."""

    def shown() -> bool:
        page.reload()
        return bool(predicate())

    wait_for(shown, timeout=timeout, interval=0.5)


def test_connect_through_the_pages(
    browser: Browser,
    deployment: tuple[Server, Server],
    sessions: sessionmaker[Session],
    shots: Path,
) -> None:
    a, b = deployment
    acme, leadco = _instance(sessions, a, "acme"), _instance(sessions, b, "leadco")

    # The client: a campaign shared with LeadCo's key, and a list check it shares.
    campaign = acme.ok("POST", "/campaigns", 201, json={"name": "Acme B2B", "fields": CLIENT_FORM})
    pub = acme.ok("POST", "/publishers", 201, json={"name": "LeadCo"})
    key = acme.ok("POST", f"/publishers/{pub['id']}/api-keys", 201)["key"]
    acme.ok("PUT", f"/campaigns/{campaign['id']}/publishers/{pub['id']}", 204)
    targets = acme.ok(
        "POST", "/lists", 201, json={"name": "Target Accounts", "values": ["Acme Corp", "Globex"]}
    )
    client_job = acme.ok(
        "POST",
        f"/campaigns/{campaign['id']}/jobs",
        201,
        json={
            "type": "validation_list",
            "label": "Target accounts only",
            "visible_to_publishers": True,
            "config": {
                "list_id": targets["id"],
                "field_name": "company",
                "operator": "equal",
                "rule": "pass",
            },
        },
    )
    # The publisher: its own form, with other names than the client's.
    ours = leadco.ok("POST", "/campaigns", 201, json={"name": "Outbound", "fields": OUR_FORM})
    campaign_url = f"{leadco.ui}/campaigns/{ours['id']}"
    _admin(sessions, leadco, "pat@leadco.example")

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    blocked = blocked_by_policy(page)
    sign_in(page, leadco.ui.removesuffix("/ui"), "pat@leadco.example", PASSWORD)
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()

    # 1. "Connect - Validation List" through the progressive form.
    _add_job(
        page, campaign_url, "quality", "Connect - Valid", "Add a Connect - Validation List job"
    )
    job_select = page.get_by_label("Campaign Processr Job", exact=True)
    expect(page.get_by_label("Campaign", exact=True).locator("option")).to_have_count(1)
    page.get_by_label("API Key").fill(key)
    page.get_by_label("Subdomain").fill(acme.subdomain)
    _pick(page, "Campaign", "Acme B2B (active)")
    _pick(page, "Campaign Processr Job", "Target accounts only")
    expect(job_select).to_have_value(str(client_job["id"]))
    page.get_by_label("Field name").select_option("companyName")
    page.get_by_label("Job name").fill("Acme's target accounts")
    page.get_by_role("button", name="Add job").click()
    expect(page.get_by_role("status")).to_contain_text("The job is added.")

    # Its first sync runs in the background; the panel follows it until it is ok.
    sync = page.get_by_role("group", name=f"Sync with {acme.subdomain}")
    expect(sync.locator(".badge")).to_have_text("ok", timeout=30_000)
    expect(sync.locator("[data-fact=list_version]")).to_have_text("1")
    expect(sync.locator("[data-fact=value_count]")).to_have_text("2")
    expect(sync.locator("[data-fact=events]")).to_have_text("subscribed")
    expect(sync).to_contain_text("their field company equal list “Target Accounts”")
    page.screenshot(path=str(shots / "connect-processr.png"), full_page=True)
    mirror_job = leadco.ok("GET", f"/campaigns/{ours['id']}/jobs")["items"][0]

    # 2. A lead the client's rule rejects: the flag says so, on the lead page.
    lead = leadco.ok(
        "POST",
        f"/campaigns/{ours['id']}/leads",
        201,
        json={"data": {"companyName": "Initech", "workEmail": "bo@initech.example"}},
    )
    assert lead["status"] == "invalid", lead
    page.goto(f"{leadco.ui}/leads/{lead['id']}")
    flags = page.locator("ul.flags")
    expect(flags).to_contain_text("connect.criteria_not_met")
    expect(flags).to_contain_text(f"Client rule of {acme.subdomain} (Target accounts only")
    checks = page.get_by_role("row").filter(has_text="Acme's target accounts")
    expect(checks.locator("td").last).to_have_text("1")  # the mirrored list version

    # 3. A Connect delivery job with the mapping editor.
    _add_job(page, campaign_url, "integration", "Connect", "Add a Connect job")
    expect(page.locator("[data-mapping]")).to_contain_text("Fill in API Key")
    page.get_by_label("API Key").fill(key)
    page.get_by_label("Subdomain").fill(acme.subdomain)
    _pick(page, "Campaign", "Acme B2B (active)")
    # The client's form beside ours: suggested pairs chosen, the one without a match flagged.
    expect(page.get_by_label("Company", exact=True)).to_have_value("companyName")
    expect(page.get_by_label("Email", exact=True)).to_have_value("workEmail")
    expect(page.get_by_label("Country", exact=True)).to_have_value("countryCode")
    title = page.get_by_label("Job title", exact=True)
    expect(title).to_have_value("")
    expect(title).to_have_attribute("aria-required", "true")
    issues = page.locator("[data-mapping-issues]")
    expect(issues).to_contain_text("the client's required field jobTitle is not mapped")
    page.screenshot(
        path=str(shots / "connect-mapping.png"),
        full_page=True,
        clip={"x": 0, "y": 0, "width": 1280, "height": 1120},
    )
    title.select_option("role")
    expect(issues).to_be_hidden()
    page.get_by_label("Job name").fill("Deliver to Acme")
    page.get_by_role("button", name="Add job").click()
    expect(page.get_by_role("status")).to_contain_text("The job is added.")
    connection = page.get_by_role("group", name=f"Deliveries to {acme.subdomain}")
    expect(connection.locator(".badge")).to_have_text("open")
    delivery_job = leadco.ok("GET", f"/campaigns/{ours['id']}/jobs")["items"][1]
    assert delivery_job["config"]["Field_mapping"] == {
        "company": "companyName",
        "email": "workEmail",
        "jobTitle": "role",
        "country": "countryCode",
    }

    # 4. The client adds Initech to its list: its event makes us pull the delta.
    acme.ok("PATCH", f"/lists/{targets['id']}/values", json={"add": ["Initech"]})
    page.goto(f"{campaign_url}/processr")
    list_version = sync.locator("[data-fact=list_version]")
    _reload_until(page, lambda: list_version.text_content() == "2")
    expect(sync.locator("[data-fact=value_count]")).to_have_text("3")
    lead = leadco.ok(
        "POST",
        f"/campaigns/{ours['id']}/leads",
        201,
        json={
            "data": {"companyName": "Initech", "workEmail": "ann@initech.example", "role": "CTO"}
        },
    )
    assert lead["status"] == "valid", lead
    page.goto(f"{leadco.ui}/leads/{lead['id']}")
    expect(page.locator("h1 .badge")).to_have_text("valid")
    checks = page.get_by_role("row").filter(has_text="Acme's target accounts")
    expect(checks).to_contain_text("✓ Passed")
    expect(checks.locator("td").last).to_have_text("2")

    # 5. Delivered; the client judges it, then marks it invalid: our lead follows.
    verdict = page.locator(".client-verdict")
    _reload_until(page, lambda: verdict.count() > 0)
    expect(verdict).to_contain_text(f"The client {acme.subdomain} judged it")
    expect(verdict.locator(".badge")).to_have_text("valid")
    delivered = leadco.ok("GET", f"/leads/{lead['id']}")["deliveries"][0]
    acme.ok(
        "POST",
        f"/leads/{delivered['client_lead_id']}/invalidate",
        json={"reason": "Initech went out of business", "user": "qa@acme.example"},
    )
    _reload_until(page, lambda: page.locator("h1 .badge").text_content() == "invalid")
    expect(verdict.locator(".badge")).to_have_text("invalid")
    history = page.locator("ol.history")
    expect(history).to_contain_text("the client marked it invalid: Initech went out of business")
    expect(history).to_contain_text("From valid to invalid by qa@acme.example")
    deliveries = page.get_by_role("table").filter(has_text="Client's lead")
    expect(deliveries).to_contain_text(str(delivered["client_lead_id"]))
    page.screenshot(path=str(shots / "connect-lead.png"), full_page=True)

    # 6. The client pauses its campaign: the next delivery is refused for good, a dead letter.
    acme.ok("PATCH", f"/campaigns/{campaign['id']}", json={"status": "paused"})
    refused = leadco.ok(
        "POST",
        f"/campaigns/{ours['id']}/leads",
        201,
        json={"data": {"companyName": "Globex", "workEmail": "cy@globex.example", "role": "CFO"}},
    )
    wait_for(
        lambda: leadco.ok("GET", f"/leads/{refused['id']}")["deliveries"][0]["state"] == "dead",
        timeout=30,
    )
    page.get_by_role("link", name="Deliveries", exact=True).click()
    rows = page.locator("table.deliveries tbody tr")
    expect(rows.first).to_contain_text(f"#{refused['id']}")
    expect(rows.first.locator(".badge").first).to_have_text("dead")
    expect(rows.first).to_contain_text("paused")
    expect(page.locator(".dead-letters")).to_contain_text("Outbound: 1 dead delivery")
    expect(rows.nth(1)).to_contain_text("invalid")  # the client's verdict on the earlier lead
    page.screenshot(path=str(shots / "connect-deliveries.png"), full_page=True)

    acme.ok("PATCH", f"/campaigns/{campaign['id']}", json={"status": "active"})
    rows.first.get_by_role("button", name=re.compile(r"^Retry delivery")).click()
    expect(page.get_by_role("status")).to_contain_text("The delivery is queued again.")
    first = page.locator("table.deliveries tbody tr").filter(has_text=f"#{refused['id']}")
    _reload_until(page, lambda: first.locator(".badge").first.text_content() == "delivered")
    expect(page.locator(".dead-letters")).to_have_count(0)

    # The Processr page counts them per state; the mirror is still in step.
    page.goto(f"{campaign_url}/processr?tab=integration")
    expect(connection).to_contain_text("2 delivered")
    page.screenshot(path=str(shots / "connect-connection.png"), full_page=True)
    wait_for(
        lambda: (
            leadco.ok("GET", f"/campaigns/{ours['id']}/jobs/{mirror_job['id']}/sync")["state"]
            == "ok"
        ),
        timeout=30,
    )

    # 7. The campaign's dashboard: the mirror's state, no delivery left waiting, and the
    # client's verdicts per day (the lead the client marked invalid is returned).
    page.goto(f"{campaign_url}/dashboard?period=7d")
    connect = page.get_by_role("region", name="Connect")
    expect(connect.get_by_role("table").first).to_contain_text("In sync")
    expect(connect.get_by_role("list", name="Deliveries to the client")).to_contain_text(
        "0 deliveries waiting to go"
    )
    verdicts = page.locator("[data-chart=client-verdicts]")
    src = verdicts.locator("img").evaluate("img => img.src")
    svg = page.request.get(src)
    assert svg.ok and svg.headers["content-type"].startswith("image/svg+xml")
    assert "Returned" in svg.text() and "Accepted" in svg.text()
    verdicts.get_by_text("The numbers as a table").click()
    today = verdicts.get_by_role("row").last.get_by_role("cell")
    expect(today.nth(1)).not_to_have_text("0")  # returned today: at least the one lead
    page.screenshot(path=str(shots / "dashboard-connect.png"), full_page=True)
    assert blocked == []
    context.close()
