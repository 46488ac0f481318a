"""The dashboard in a real browser: the charts are SVG images of ours that chromium draws, the
period picker changes what they show, and the page's policy blocks nothing."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from leadgate.db import transaction
from tests.e2e.browser import admin_instance, blocked_by_policy, require_chromium, sign_in

pytestmark = pytest.mark.browser

require_chromium("chromium not installed: apt-get install chromium (browser tests skipped)")

PASSWORD = "correct horse battery"
FIELDS = [{"name": "company", "label": "Company"}, {"name": "email", "label": "Email"}]
# (publisher, company, email, days ago)
LEADS = [
    ("Northwind Leads", "Acme", "ann@acme.example", 0),
    ("Northwind Leads", "Globex", "bo@globex.example", 0),
    ("Northwind Leads", "Umbrella", "cy@umbrella.example", 0),
    ("Northwind Leads", "Acme", "not-an-address", 2),
    ("Southside Media", "Initech", "di@initech.example", 1),
    ("Southside Media", "Globex", "ed@globex.example", 3),
    ("Southside Media", "Hooli", "fay@hooli.example", 5),
    ("Southside Media", "Acme", "gus@acme.example", 12),
    ("Southside Media", "Umbrella", "", 20),
]


def _bars(page: Page, chart: str) -> tuple[str, int]:
    """The SVG of one chart of the page as the browser fetched it, and its bars."""
    src = page.locator(f"[data-chart={chart}] img").evaluate("img => img.src")
    answer = page.request.get(src)
    assert answer.ok and answer.headers["content-type"].startswith("image/svg+xml")
    svg = answer.text()
    assert svg.startswith("<svg")
    return svg, len(re.findall(r'class="rect reactive tooltip-trigger"', svg))


def _drawn(page: Page) -> None:
    """Every chart image of the page loaded and has a size (chromium decoded the SVG)."""
    images = page.locator("section.chart img")
    assert images.count() >= 3
    for i in range(images.count()):
        image = images.nth(i)
        image.scroll_into_view_if_needed()  # the images load lazily
        expect(image).to_be_visible()
        # Waits (up to the context's timeout) until chromium has decoded it with a size.
        page.wait_for_function(
            "img => img.complete && img.naturalWidth > 0", arg=image.element_handle()
        )


def test_dashboard_charts_and_period(
    browser: Browser,
    live_url: str,
    sessions: sessionmaker[Session],
    shots: Path,
) -> None:
    sub = f"dash-{secrets.token_hex(3)}"
    base, api = admin_instance(sessions, live_url, sub, "kim@acme.example", PASSWORD)
    cid = api.post("/campaigns", json={"name": "Solar B2B", "fields": FIELDS}).json()["id"]
    lid = api.post("/lists", json={"name": "Target Accounts", "values": ["Acme", "Globex"]})
    for job in (
        {
            "type": "validation_list",
            "config": {
                "list_id": lid.json()["id"],
                "field_name": "company",
                "operator": "equal",
                "rule": "pass",
            },
        },
        {"type": "email_format", "config": {"field_name": "email"}},
    ):
        assert api.post(f"/campaigns/{cid}/jobs", json=job).status_code == 201
    keys: dict[str, str] = {}
    for name in sorted({p for p, *_ in LEADS}):
        pub = api.post("/publishers", json={"name": name}).json()
        keys[name] = api.post(f"/publishers/{pub['id']}/api-keys").json()["key"]
        api.put(f"/campaigns/{cid}/publishers/{pub['id']}")
    ago: dict[int, int] = {}
    for name, company, email, days in LEADS:
        lead = httpx.post(
            f"{base}/api/v1/publisher/campaigns/{cid}/leads",
            json={"data": {"company": company, "email": email}},
            headers={"Authorization": f"Bearer {keys[name]}"},
        )
        assert lead.status_code == 201, lead.text
        ago[lead.json()["id"]] = days
    with transaction(sessions) as session:  # the older leads came on earlier days
        for lead_id, days in ago.items():
            session.execute(
                text(
                    "UPDATE leads SET created_at = now() - make_interval(days => :d) WHERE id = :i"
                ),
                {"d": days, "i": lead_id},
            )

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    blocked = blocked_by_policy(page)
    sign_in(page, base, "kim@acme.example", PASSWORD)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Dashboard").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Dashboard")
    expect(page.get_by_role("link", name="Last 7 days")).to_have_attribute("aria-current", "page")
    expect(page.get_by_role("list", name="Leads in these days")).to_contain_text("7 leads")
    _drawn(page)
    svg, bars = _bars(page, "leads-per-day")
    assert bars == 7 * 5  # a segment per status and day
    assert datetime.now(UTC).strftime("%b %d") in svg and "Invalid" in svg
    svg, bars = _bars(page, "acceptance-per-publisher")
    assert bars == 2 and "Northwind Leads" in svg and "Southside Media" in svg
    svg, bars = _bars(page, "rejection-reasons")
    assert "A value is not on the acceptance list" in svg and bars == 2

    # The table view of a chart, for screen readers (and anyone who wants the numbers).
    reasons = page.locator("[data-chart=rejection-reasons]")
    reasons.get_by_text("The numbers as a table").click()
    expect(reasons.get_by_role("table")).to_contain_text("email_format.invalid")

    page.get_by_role("link", name="Last 30 days").click()
    expect(page).to_have_url(re.compile(r"period=30d"))
    expect(page.get_by_role("list", name="Leads in these days")).to_contain_text("9 leads")
    _drawn(page)
    _, bars = _bars(page, "leads-per-day")
    assert bars == 30 * 5
    page.screenshot(path=shots / "dashboard.png", full_page=True)

    page.get_by_role("link", name="Today").click()
    expect(page.get_by_role("list", name="Leads in these days")).to_contain_text("3 leads")
    _, bars = _bars(page, "leads-per-day")
    assert bars == 5

    # A custom period with nothing in it says so instead of drawing empty charts.
    page.get_by_label("From (UTC)").fill("2020-01-01")
    page.get_by_label("To (UTC)").fill("2020-01-31")
    page.get_by_role("button", name="Show these days").click()
    expect(page.get_by_text("No leads came in these days")).to_be_visible()
    assert page.locator("section.chart img").count() == 0

    # The campaign's own dashboard, reached from the campaign.
    page.goto(f"{base}/ui/campaigns/{cid}")
    page.get_by_role("navigation", name="Campaign").get_by_role("link", name="Dashboard").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Dashboard: Solar B2B")
    _drawn(page)
    assert blocked == []
    context.close()
