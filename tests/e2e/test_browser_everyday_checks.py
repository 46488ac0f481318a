"""The everyday checks' generated job forms in a real browser: dropdowns, checkbox groups,
number inputs and a checkbox are filled, an error shows beside its input, and the saved jobs
judge a lead."""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy.orm import Session, sessionmaker

from tests.e2e.browser import admin_instance, blocked_by_policy, require_chromium, sign_in

pytestmark = pytest.mark.browser

require_chromium("chromium not installed: apt-get install chromium (browser tests skipped)")

PASSWORD = "correct horse battery"
FIELDS = [{"name": "email", "label": "Email"}, {"name": "phone"}, {"name": "company"}]


def add_job(page: Page, base: str, campaign_id: int, type_: str) -> None:
    page.goto(f"{base}/ui/campaigns/{campaign_id}/processr/new?type={type_}")


def saved(page: Page) -> None:
    page.get_by_role("button", name="Add job").click()
    expect(page.get_by_role("status")).to_contain_text("The job is added.")


def test_everyday_check_forms(
    browser: Browser, live_url: str, sessions: sessionmaker[Session]
) -> None:
    sub = f"daily-{secrets.token_hex(3)}"
    base, api = admin_instance(sessions, live_url, sub, "kim@acme.example", PASSWORD)
    campaign_id = api.post("/campaigns", json={"name": "Daily", "fields": FIELDS}).json()["id"]
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    blocked = blocked_by_policy(page)
    sign_in(page, base, "kim@acme.example", PASSWORD)

    # Dropdowns: the field, the region (from the job type), the kinds of number.
    add_job(page, base, campaign_id, "telephone_format")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Telephone Format Check")
    page.get_by_label("Field", exact=True).select_option("phone")
    page.get_by_label("Default region", exact=True).select_option("GB")
    page.get_by_label("Number types", exact=True).select_option("mobile")
    saved(page)
    expect(page.get_by_role("row").filter(has_text="Telephone Format Check")).to_contain_text(
        "phone (GB, mobile only)"
    )

    # A checkbox group of our fields and a number.
    add_job(page, base, campaign_id, "multiple_empty_fields")
    group = page.locator("fieldset", has_text="Fields to count")
    for label in ("Email", "phone", "company"):
        group.get_by_label(label, exact=True).check()
    page.get_by_label("Most empty fields allowed", exact=True).fill("1")
    saved(page)

    # A checkbox turned off; the default free-mail list is kept as shown.
    add_job(page, base, campaign_id, "email_format")
    page.get_by_label("Field", exact=True).select_option("email")
    page.get_by_label("Allow free mail", exact=True).uncheck()
    saved(page)

    # A bad pair of bounds is answered beside the maximum; corrected, it saves.
    add_job(page, base, campaign_id, "field_length")
    page.get_by_label("Field", exact=True).select_option("company")
    page.get_by_label("Minimum length", exact=True).fill("9")
    page.get_by_label("Maximum length", exact=True).fill("5")
    page.get_by_role("button", name="Add job").click()
    maximum = page.locator(".field", has=page.get_by_label("Maximum length", exact=True))
    expect(maximum.locator(".error")).to_have_text("The maximum (5) is below the minimum (9).")
    page.get_by_label("Maximum length", exact=True).fill("40")
    saved(page)

    jobs: list[dict[str, Any]] = api.get(f"/campaigns/{campaign_id}/jobs").json()["items"]
    configs = {j["type"]: j["config"] for j in jobs}
    assert configs["telephone_format"] == {
        "field_name": "phone",
        "default_region": "GB",
        "country_field": None,
        "types": "mobile",
    }
    assert configs["multiple_empty_fields"] == {
        "fields": ["email", "phone", "company"],
        "max_empty": 1,
    }
    assert configs["email_format"]["allow_free_mail"] is False
    assert "gmail.com" in configs["email_format"]["free_mail_domains"]
    assert configs["field_length"] == {"field_name": "company", "min": 9, "max": 40}

    lead = api.post(
        f"/campaigns/{campaign_id}/leads",
        json={"data": {"email": "kim@gmail.com", "phone": " "}},
    ).json()
    assert [f["code"] for f in lead["flags"]] == [
        "telephone_format.invalid",
        "multiple_empty_fields.too_many",
        "email_format.free_mail",
        "field_length.out_of_range",
    ]
    api.close()
    assert blocked == []
    context.close()
