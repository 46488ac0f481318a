"""The web UI in a real browser: Playwright drives Debian's chromium against a live server.

Walk: first sign-in with the one-time password; a campaign and its form; a list by CSV import
(progress, rejected lines); a Validation List job through the generated form (inline errors
first); a failing lead and its flag; a verdict by hand in the history; the publisher portal.

Screenshots go to $LEADGATE_SCREENSHOTS when set (docs/screenshots for the README), else to a
temporary folder.
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy.orm import Session, sessionmaker

from leadgate.db import transaction
from leadgate.instances.service import get_instance
from leadgate.kit.repository import TenantScope
from leadgate.users import service as users
from leadgate.users.service import create_instance
from tests.e2e.browser import blocked_by_policy, require_chromium, sign_in

pytestmark = pytest.mark.browser

require_chromium("chromium not installed: apt-get install chromium (browser tests skipped)")


def test_admin_and_publisher_walk(
    browser: Browser,
    live_url: str,
    sessions: sessionmaker[Session],
    tmp_path: Path,
    shots: Path,
) -> None:
    sub = f"web-{secrets.token_hex(3)}"
    with transaction(sessions) as session:
        created = create_instance(session, sub, "Acme Corp", admin_email="kim@acme.example")
    base = f"{live_url}/i/{sub}"
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    blocked = blocked_by_policy(page)

    # A wrong password first: a plain message, no session.
    sign_in(page, base, created.admin_email, "not the password")
    expect(page.get_by_role("alert")).to_contain_text("The email or password is not right.")

    # The one-time password from `instance create` must be replaced before anything else.
    sign_in(page, base, created.admin_email, created.admin_password)
    expect(page).to_have_url(re.compile(r"/ui/password$"))
    page.get_by_label("Current password").fill(created.admin_password)
    page.get_by_label("New password", exact=True).fill("a much better password")
    page.get_by_label("New password again").fill("a much better password")
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("status")).to_contain_text("Your password is changed.")

    # A campaign, and its form: one field typed in the blank row, one more added.
    page.get_by_label("Name").fill("Solar Leads Q3")
    page.get_by_role("button", name="Create campaign").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Solar Leads Q3")
    page.get_by_label("Key of field 1").fill("company")
    page.get_by_label("Label of field 1").fill("Company")
    page.get_by_label("Field 1 is required").check()
    page.get_by_role("button", name="Add a field").click()
    page.get_by_label("Key of field 2").fill("email")
    page.get_by_label("Type of field 2").select_option("email")
    page.get_by_role("button", name="Save form fields").click()
    expect(page.get_by_role("status")).to_contain_text("Saved.")
    expect(page.get_by_label("Key of field 2")).to_have_value("email")
    found = re.search(r"/campaigns/(\d+)", page.url)
    assert found, page.url
    campaign_id = int(found.group(1))

    # A validation list, filled by a CSV import with a line that cannot be a value.
    page.get_by_role("link", name="Validation lists").click()
    page.get_by_label("Name").fill("Target accounts")
    page.get_by_role("button", name="Create list").click()
    csv_file = tmp_path / "targets.csv"
    csv_file.write_text("company\nAcme\n" + "x" * 600 + "\nGlobex\nInitrode\n")
    page.get_by_label("CSV file", exact=True).set_input_files(str(csv_file))
    page.get_by_role("button", name="Import").click()
    report = page.locator("[data-report]")
    expect(report).to_contain_text("3 added, 0 removed; the list now has 3 values")
    expect(report.get_by_role("table")).to_contain_text("1 line not imported")
    expect(report.get_by_role("row").nth(1)).to_contain_text("3")
    expect(page.locator("[data-value-count]")).to_have_text("3")
    page.reload()
    expect(page.locator("ul.values")).to_contain_text("Globex")
    page.screenshot(path=str(shots / "lists.png"), full_page=True)

    # The Processr: "Add" opens a searchable list of job types; typing filters it.
    page.goto(f"{base}/ui/campaigns/{campaign_id}/processr")
    combo = page.get_by_role("combobox", name="Add a job")
    combo.click()
    combo.fill("list")
    options = page.get_by_role("option")
    expect(options.filter(has_text="Required Fields")).to_be_hidden()
    expect(options.filter(has_text="Validation List").first).to_be_visible()
    combo.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Add a Validation List job")

    # Sent empty, the generated form answers beside each required field.
    page.get_by_role("button", name="Add job").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Add a Validation List job")
    for name in ("List", "Field", "Rule"):
        field = page.locator(".field", has=page.get_by_label(name, exact=True))
        expect(field.locator(".error")).to_have_text("Please fill this in.")
    page.get_by_label("List", exact=True).select_option(label="Target accounts (3 values)")
    page.get_by_label("Field", exact=True).select_option("company")
    page.get_by_label("Rule", exact=True).select_option("pass")
    page.get_by_label("Job name").fill("Target accounts only")
    page.get_by_label("Publishers can see this rule").check()
    page.get_by_role("button", name="Add job").click()
    expect(page.get_by_role("status")).to_contain_text("The job is added.")
    row = page.get_by_role("row").filter(has_text="Target accounts only")
    expect(row).to_contain_text("company equal list “Target accounts” (match passes)")
    page.screenshot(path=str(shots / "processr.png"), full_page=True)

    # A lead that fails the job, sent through the admin API with a token made on the page.
    page.get_by_role("link", name="API tokens").click()
    page.get_by_label("Name").fill("browser test")
    page.get_by_role("button", name="Create token").click()
    token = page.locator("#new-token").inner_text()
    lead = httpx.post(
        f"{base}/api/v1/campaigns/{campaign_id}/leads",
        headers={"Authorization": f"Bearer {token}"},
        json={"data": {"company": "Initech", "email": "pat@initech.example"}},
        timeout=30,
    ).json()
    assert lead["status"] == "invalid", lead

    page.get_by_role("link", name="Leads").click()
    expect(page.locator("ul.counts")).to_contain_text("1 invalid")
    page.screenshot(path=str(shots / "leads.png"), full_page=True)
    page.get_by_role("link", name=f"#{lead['id']}").click()
    expect(page.locator("ul.flags")).to_contain_text(
        "The lead value does not equal any values on the validation list Target accounts "
        "on the field company"
    )

    # A verdict by hand: a reason is required, then it is in the history.
    page.get_by_role("button", name="Mark valid").click()
    expect(page.get_by_label("Reason")).to_have_attribute("aria-invalid", "true")
    page.get_by_label("Reason").fill("Initech is a customer after all")
    page.get_by_role("button", name="Mark valid").click()
    expect(page.get_by_role("status")).to_contain_text("The lead's status is changed.")
    page.get_by_label("Reason").fill("Duplicate of an earlier lead")
    page.get_by_role("button", name="Mark invalid").click()
    history = page.locator("ol.history")
    expect(history).to_contain_text(
        f"From valid to invalid by {created.admin_email}: Duplicate of an earlier lead"
    )
    expect(page.locator("h1 .badge")).to_have_text("invalid")
    page.screenshot(path=str(shots / "lead.png"), full_page=True)

    # A publisher with access to the campaign, and a person of theirs.
    page.get_by_role("link", name="Campaigns").click()
    page.screenshot(path=str(shots / "campaigns.png"), full_page=True)
    page.get_by_role("link", name="Solar Leads Q3").click()
    page.get_by_label("New publisher").fill("LeadCo")
    page.get_by_role("button", name="Create publisher").click()
    publisher_key = page.locator("#new-key").inner_text()
    page.screenshot(path=str(shots / "campaign.png"), full_page=True)
    href = page.get_by_role("link", name="LeadCo").get_attribute("href") or ""
    with transaction(sessions) as session:
        instance = get_instance(session, sub)
        assert instance is not None
        users.create_user(
            TenantScope(session, instance.id),
            "sam@leadco.example",
            "leadco password 1",
            "publisher",
            publisher_id=int(href.rsplit("/", 1)[-1]),
        )
    sent = httpx.post(
        f"{base}/api/v1/publisher/campaigns/{campaign_id}/leads",
        headers={"Authorization": f"Bearer {publisher_key}"},
        json={"data": {"company": "Acme", "email": "ann@acme.example"}},
        timeout=30,
    ).json()
    assert sent["status"] == "valid", sent

    pub_context = browser.new_context(viewport={"width": 1280, "height": 900})
    pub_context.set_default_timeout(10_000)
    pub = pub_context.new_page()
    sign_in(pub, base, "sam@leadco.example", "leadco password 1")
    expect(pub.get_by_role("heading", level=1)).to_have_text("Your campaigns")
    shared = pub.get_by_role("row").filter(has_text="Target accounts only")
    expect(shared).to_contain_text("must match")
    expect(shared).to_contain_text("List “Target accounts”: 3 values")
    pub.screenshot(path=str(shots / "portal.png"), full_page=True)
    pub.get_by_role("link", name="Your leads").click()
    expect(pub.get_by_role("row").filter(has_text=f"#{sent['id']}")).to_contain_text("valid")
    expect(pub.get_by_role("link", name=f"#{lead['id']}")).to_have_count(0)
    pub.goto(f"{base}/ui/campaigns")
    expect(pub.get_by_role("heading", level=1)).to_have_text(
        "This page is for the instance's admins"
    )
    assert blocked == []
    pub_context.close()
    context.close()
