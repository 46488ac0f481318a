"""The review queue in a real browser: select every caution lead of a campaign, mark them
invalid with a reason from the instance's categories, and see the counts change; the screenshot
goes to $LEADGATE_SCREENSHOTS (docs/screenshots for the README) when set."""

from __future__ import annotations

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

PASSWORD = "a long review password"


def test_bulk_invalidate_from_the_queue(
    browser: Browser, live_url: str, sessions: sessionmaker[Session], shots: Path
) -> None:
    sub = f"review-{secrets.token_hex(3)}"
    with transaction(sessions) as session:
        created = create_instance(session, sub, "Acme Corp")
        inst = get_instance(session, sub)
        assert inst is not None
        users.create_user(TenantScope(session, inst.id), "kim@acme.example", PASSWORD, "admin")
    api = httpx.Client(
        base_url=f"{live_url}/i/{sub}/api/v1",
        headers={"Authorization": f"Bearer {created.admin_token}"},
        timeout=30,
    )
    fields = [{"name": "company"}, {"name": "email"}, {"name": "phone"}]
    cid = api.post("/campaigns", json={"name": "Solar Q3", "fields": fields}).json()["id"]
    for field, score in (("company", 10), ("email", 2)):
        job = {"type": "required_fields", "score": score, "config": {"fields": [field]}}
        assert api.post(f"/campaigns/{cid}/jobs", json=job).status_code == 201
    pub = api.post("/publishers", json={"name": "LeadCo"}).json()
    key = api.post(f"/publishers/{pub['id']}/api-keys").json()["key"]
    assert api.put(f"/campaigns/{cid}/publishers/{pub['id']}").status_code == 204
    for company in ("Initech", "Globex", "Umbrella"):
        lead = api.post(
            f"/publisher/campaigns/{cid}/leads",
            json={"data": {"company": company, "phone": "+1 555 0100"}},
            headers={"Authorization": f"Bearer {key}"},
        ).json()
        assert lead["status"] == "caution", lead
    held = api.post(f"/campaigns/{cid}/leads", json={"data": {"email": "x@y.example"}}).json()
    assert held["status"] == "invalid"
    reason = {"name": "Returned: wrong contact"}
    assert api.post("/reasons", json=reason).status_code == 201
    api.close()

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    blocked = blocked_by_policy(page)
    sign_in(page, f"{live_url}/i/{sub}", "kim@acme.example", PASSWORD)
    page.get_by_role("link", name="Review queue").click()
    counts = page.get_by_role("list", name="Leads per status under this filter")
    expect(counts).to_contain_text("3 caution")
    expect(counts).to_contain_text("1 invalid")
    expect(page.get_by_role("table")).to_contain_text(
        "The required field email is missing or empty"
    )
    page.get_by_label("Campaign").select_option(label="Solar Q3")
    page.get_by_role("button", name="Show").click()

    # Select-all ticks every lead of the page (and unticks them again).
    select_all = page.get_by_label("Select every lead on this page")
    select_all.check()
    boxes = page.locator("input[name=lead_id]")
    expect(boxes).to_have_count(3)
    for i in range(3):
        expect(boxes.nth(i)).to_be_checked()
    boxes.nth(0).uncheck()
    expect(select_all).not_to_be_checked()
    boxes.nth(0).check()
    expect(select_all).to_be_checked()

    page.get_by_label("Mark as").select_option(label="Mark invalid")
    page.get_by_label("Reason").select_option("Returned: wrong contact")
    page.get_by_label("Comment (optional)").fill("The numbers are a call centre's")
    page.screenshot(path=str(shots / "review-queue.png"), full_page=True)
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_role("status")).to_contain_text("The leads are marked")
    expect(counts).to_contain_text("0 caution")
    expect(counts).to_contain_text("4 invalid")  # with the lead that was invalid already
    expect(page.get_by_role("table")).to_contain_text("Nothing waits here.")

    # The leads' histories say who, why and with which reason.
    page.get_by_label("Leads", exact=True).select_option("invalid")
    page.get_by_role("button", name="Show").click()
    page.get_by_role("row").filter(has_text="Initech").get_by_role("link").click()
    expect(page.locator("body")).to_contain_text("Returned: wrong contact")
    assert blocked == []
    context.close()
