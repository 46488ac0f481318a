"""What a new user hit, in a real browser: the job-type picker matches the words typed in any
order and says when nothing matches (it showed an empty strip); the form editor shows an
example of choices only on a choice field."""

from __future__ import annotations

import secrets

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy.orm import Session, sessionmaker

from leadgate.campaigns import service as campaigns
from leadgate.campaigns.schemas import CampaignCreate, FormField
from leadgate.db import transaction
from leadgate.instances.service import get_instance
from leadgate.kit.repository import TenantScope
from leadgate.users import service as users
from leadgate.users.service import create_instance
from tests.e2e.browser import blocked_by_policy, require_chromium, sign_in

pytestmark = pytest.mark.browser

require_chromium("chromium not installed: apt-get install chromium (browser tests skipped)")


def test_the_job_type_picker_and_the_choices_example(
    browser: Browser, live_url: str, sessions: sessionmaker[Session]
) -> None:
    sub = f"picker-{secrets.token_hex(3)}"
    with transaction(sessions) as session:
        created = create_instance(session, sub, admin_email="kim@picker.example")
        instance = get_instance(session, sub)
        assert instance is not None
        scope = TenantScope(session, instance.id)
        user = users.find(scope, created.admin_email)
        assert user is not None
        users.set_password(scope, user.id, "a long enough password", must_change=False)
        cid = campaigns.create(
            scope, CampaignCreate(name="Outbound", fields=[FormField(name="email")])
        ).id
    base = f"{live_url}/i/{sub}"
    page = browser.new_context().new_page()
    page.set_default_timeout(10_000)
    blocked = blocked_by_policy(page)
    sign_in(page, base, created.admin_email, "a long enough password")
    page.goto(f"{base}/ui/campaigns/{cid}/processr")

    combo = page.get_by_role("combobox", name="Add a job")
    options = page.get_by_role("option")
    none = page.locator(".listbox li.none")
    combo.click()
    for typed in ("connect val", "val connect", "CONNECT  validation"):
        combo.fill(typed)
        expect(options.filter(has_text="Connect - Validation List")).to_be_visible()
        expect(options.filter(has_text="Required Fields")).to_be_hidden()
        expect(none).to_be_hidden()
    combo.fill("connect zebra")
    expect(none).to_be_visible()
    expect(none).to_have_text("No job type matches.")
    expect(options.filter(visible=True)).to_have_count(0)
    combo.fill("")
    expect(none).to_be_hidden()
    expect(options.filter(has_text="Required Fields")).to_be_visible()
    combo.fill("val connect")
    combo.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_contain_text(
        "Add a Connect - Validation List job"
    )

    # The form editor: an example of choices only on a choice field.
    page.goto(f"{base}/ui/campaigns/{cid}")
    choices = page.get_by_label("Options of field 1")
    expect(choices).not_to_have_attribute("placeholder", "US; CA; GB")
    page.get_by_label("Type of field 1").select_option("select")
    expect(choices).to_have_attribute("placeholder", "US; CA; GB")
    page.get_by_label("Type of field 1").select_option("number")
    expect(choices).not_to_have_attribute("placeholder", "US; CA; GB")
    assert blocked == []
