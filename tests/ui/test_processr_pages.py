"""The Processr pages: generated job forms, inline errors, groups, order, and option dropdowns."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, Field

from leadgate.config import Settings
from leadgate.errors import InvalidRequest
from leadgate.kit.repository import TenantScope
from leadgate.processr.models import ProcessrJob
from leadgate.processr.plugin import BaseJobType, JobContext, JobResult, Option, Tab, passed
from leadgate.processr.registry import REGISTRY
from tests.ui.conftest import Browser, Site

FIELDS = [{"name": "company", "label": "Company"}, {"name": "country"}, {"name": "email"}]


def error_of(page: str, name: str) -> str:
    """The message shown beside the input `name` (empty when none)."""
    found = re.search(rf'<p class="error" id="e-{re.escape(name)}"[^>]*>([^<]*)</p>', page)
    return html.unescape(found.group(1)) if found else ""


def setup(site: Site) -> tuple[Browser, int, int]:
    b = site.browser()
    cid = site.api.campaign("Solar", FIELDS)["id"]
    lst = site.api.ok("POST", "/lists", 201, json={"name": "Targets", "values": ["Acme"]})
    return b, cid, lst["id"]


def jobs(site: Site, cid: int) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = site.api.ok("GET", f"/campaigns/{cid}/jobs")["items"]
    return items


def test_the_generated_form_marks_required_fields_and_explains_them(site: Site) -> None:
    b, cid, _ = setup(site)
    page = b.get(f"/campaigns/{cid}/processr/new?type=validation_list").text
    assert '<label for="f-config.list_id" class="required">List</label>' in page
    assert '<label for="f-config.operator">Match type</label>' in page
    assert "The validation list the lead value is looked up in." in page
    # Field and list dropdowns are filled from this campaign and instance.
    assert '<option value="company">Company (company)</option>' in page
    assert "Targets (1 values)" in page


def test_an_empty_job_form_comes_back_with_a_message_beside_each_required_input(
    site: Site,
) -> None:
    b, cid, _ = setup(site)
    r = b.post(f"/campaigns/{cid}/processr/new?type=validation_list", {"config.operator": "equal"})
    assert r.status_code == 422
    for name in ("config.list_id", "config.field_name", "config.rule"):
        assert error_of(r.text, name) == "Please fill this in.", name
    assert error_of(r.text, "config.operator") == ""
    assert jobs(site, cid) == []


def test_service_errors_land_beside_the_input_they_are_about(site: Site) -> None:
    b, cid, lid = setup(site)
    base = {"config.list_id": str(lid), "config.rule": "pass", "config.operator": "equal"}
    r = b.post(
        f"/campaigns/{cid}/processr/new?type=validation_list",
        {**base, "config.field_name": "shoeSize"},
    )
    assert r.status_code == 422
    assert "has no field(s) shoeSize" in error_of(r.text, "config.field_name")
    r = b.post(
        f"/campaigns/{cid}/processr/new?type=validation_list",
        {**base, "config.field_name": "company", "config.list_id": "99999999"},
    )
    assert "There is no validation list 99999999" in error_of(r.text, "config.list_id")
    r = b.post(
        f"/campaigns/{cid}/processr/new?type=validation_list",
        {**base, "config.field_name": "company", "score": "lots"},
    )
    assert error_of(r.text, "score") == "Enter a whole number."
    r = b.post(
        f"/campaigns/{cid}/processr/new?type=validation_list",
        {**base, "config.field_name": "company", "condition.values": "US"},
    )
    assert error_of(r.text, "condition.field") == "Please fill this in."
    assert jobs(site, cid) == []


def test_a_job_is_added_configured_grouped_moved_and_deleted(site: Site) -> None:
    b, cid, lid = setup(site)
    r = b.post(
        f"/campaigns/{cid}/processr/new?type=validation_list",
        {
            "config.list_id": str(lid),
            "config.field_name": "company",
            "config.operator": "startswith",
            "config.rule": "fail",
            "config.trim": "true",
            "label": "No competitors",
            "score": "20",
            "hardfail": "true",
            "visible_to_publishers": "true",
            "group": "By country",
            "condition.field": "country",
            "condition.values": " US; CA ;GB ",
        },
    )
    assert r.status_code == 303, r.text
    (job,) = jobs(site, cid)
    assert job["config"] == {
        "list_id": lid,
        "field_name": "company",
        "operator": "startswith",
        "rule": "fail",
        "case_sensitive": False,
        "trim": True,
    }
    assert (job["label"], job["score"], job["hardfail"], job["visible_to_publishers"]) == (
        "No competitors",
        20,
        True,
        True,
    )
    assert job["group"] == "By country"
    assert job["condition"] == {"field": "country", "values": ["US", "CA", "GB"]}
    page = b.get(f"/campaigns/{cid}/processr").text
    assert "No competitors" in page and "when country is US; CA; GB" in page

    # A condition without a group is refused beside the group name.
    edit = b.get(f"/campaigns/{cid}/processr/jobs/{job['id']}").text
    assert 'value="US; CA; GB"' in edit
    form = {
        "config.list_id": str(lid),
        "config.field_name": "company",
        "config.operator": "startswith",
        "config.rule": "pass",
        "label": "Only targets",
        "score": "10",
        "condition.field": "country",
        "condition.values": "US",
    }
    r = b.post(f"/campaigns/{cid}/processr/jobs/{job['id']}", form)
    assert "needs a group name" in error_of(r.text, "group")
    r = b.post(f"/campaigns/{cid}/processr/jobs/{job['id']}", {**form, "group": "G"})
    assert r.status_code == 303
    (saved,) = jobs(site, cid)
    assert saved["config"]["rule"] == "pass" and saved["version"] == job["version"] + 1
    assert saved["hardfail"] is False and saved["visible_to_publishers"] is False

    second = site.api.ok(
        "POST",
        f"/campaigns/{cid}/jobs",
        201,
        json={"type": "required_fields", "config": {"fields": ["email"]}},
    )
    assert [j["id"] for j in jobs(site, cid)] == [job["id"], second["id"]]
    assert (
        b.post(
            f"/campaigns/{cid}/processr/jobs/{second['id']}/move", {"direction": "up"}
        ).status_code
        == 303
    )
    assert [j["id"] for j in jobs(site, cid)] == [second["id"], job["id"]]
    # Moving the first one up changes nothing.
    b.post(f"/campaigns/{cid}/processr/jobs/{second['id']}/move", {"direction": "up"})
    assert [j["id"] for j in jobs(site, cid)] == [second["id"], job["id"]]
    assert b.post(f"/campaigns/{cid}/processr/jobs/{second['id']}/delete").status_code == 303
    assert [j["id"] for j in jobs(site, cid)] == [job["id"]]


def test_lists_of_objects_and_checkbox_groups(site: Site) -> None:
    b, cid, _ = setup(site)
    r = b.post(
        f"/campaigns/{cid}/processr/new?type=conditional_validation",
        {
            "config.overall": "ANY",
            "config.sections.0.field_name": "country",
            "config.sections.0.operator": "EQUAL",
            "config.sections.0.values": "US\r\nCA\r\n",
            "config.sections.1.field_name": "",
            "config.sections.1.values": "",
            "config.sections.5.field_name": "email",
            "config.sections.5.operator": "",
            "config.sections.5.values": "x",
        },
    )
    # Blank rows are dropped; the others are renumbered, so the message finds its row.
    assert r.status_code == 422
    assert error_of(r.text, "config.sections.1.operator") == "Please fill this in."
    assert 'name="config.sections.1.field_name"' in r.text
    r = b.post(
        f"/campaigns/{cid}/processr/new?type=conditional_validation",
        {
            "config.overall": "ANY",
            "config.sections.0.field_name": "country",
            "config.sections.0.operator": "EQUAL",
            "config.sections.0.values": "US\nCA",
            "config.sections.3.field_name": "email",
            "config.sections.3.operator": "ENDSWITH",
            "config.sections.3.values": "@acme.example",
            "config.sections.3.negate": "true",
        },
    )
    assert r.status_code == 303, r.text
    r = b.post(
        f"/campaigns/{cid}/processr/new?type=required_fields",
        {"config.fields": ["email", "company"]},
    )
    assert r.status_code == 303
    conditional, required = jobs(site, cid)
    assert conditional["config"]["sections"][1] == {
        "field_name": "email",
        "operator": "ENDSWITH",
        "values": ["@acme.example"],
        "case_sensitive": False,
        "negate": True,
    }
    assert conditional["config"]["sections"][0]["values"] == ["US", "CA"]
    assert required["config"] == {"fields": ["email", "company"]}
    edit = b.get(f"/campaigns/{cid}/processr/jobs/{required['id']}").text
    assert 'name="config.fields" value="email" checked' in edit
    assert 'name="config.fields" value="country">' in edit


# A job type whose dropdown depends on other fields and a secret, as the Connect jobs' do.
class RemoteConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: str = Field(title="Token", json_schema_extra={"x-secret": True})
    region: str = Field(title="Region")
    account: int = Field(
        title="Account", json_schema_extra={"x-options": True, "x-depends-on": ["token", "region"]}
    )
    field_name: str = Field(title="Field")


class RemoteJob(BaseJobType[RemoteConfig]):
    config_model = RemoteConfig
    type = "ui_test_remote"
    title = "Remote Test"
    tab: Tab = "quality"

    def run(self, data: Mapping[str, Any], config: RemoteConfig, ctx: JobContext) -> JobResult:
        return passed()

    def options(
        self, scope: TenantScope, key: str, config: Mapping[str, Any], settings: Settings
    ) -> list[Option] | None:
        return accounts(config) if key == "account" else None


def accounts(config: Mapping[str, Any]) -> list[Option]:
    if config.get("token") != "good-token":
        raise InvalidRequest(
            "The client's instance refused this API key.", code="connect_credentials_rejected"
        )
    region = config.get("region")
    return [Option(value=7, label=f"Account 7 ({region})"), Option(value=8, label="Account 8")]


@pytest.fixture
def remote(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(REGISTRY._types, RemoteJob.type, RemoteJob())


def test_dependent_dropdowns_and_secrets(site: Site, remote: None) -> None:
    b, cid, _ = setup(site)
    url = f"{b.base}/api/job-types/ui_test_remote/options"
    page = b.get(f"/campaigns/{cid}/processr/new?type=ui_test_remote").text
    assert 'data-depends-on="config.token config.region"' in page
    assert "Fill in Token and Region first." in page
    assert '<input id="f-config.token" name="config.token" type="password"' in page

    def ask(config: dict[str, Any], **extra: Any) -> Any:
        body = {"field": "account", "campaign_id": cid, "config": config, **extra}
        return b.client.post(url, json=body, headers={"x-csrf-token": b.csrf})

    r = ask({"token": "bad-token", "region": "eu"})
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "connect_credentials_rejected"
    assert r.json()["detail"] == "The client's instance refused this API key."
    r = ask({"token": "good-token", "region": "eu"})
    assert r.json() == {
        "options": [{"value": 7, "label": "Account 7 (eu)"}, {"value": 8, "label": "Account 8"}]
    }
    assert ask({"field_name": "x"}, field="field_name").json()["options"][0] == {
        "value": "company",
        "label": "Company",
    }
    assert b.client.post(url, json={"field": "account", "config": {}}).status_code == 403

    # Saved with its secret; a bad secret is shown beside the dropdown that needs it.
    form = {
        "config.token": "bad-token",
        "config.region": "eu",
        "config.account": "7",
        "config.field_name": "company",
    }
    r = b.post(f"/campaigns/{cid}/processr/new?type=ui_test_remote", {**form, "score": "x"})
    assert error_of(r.text, "config.account") == "The client's instance refused this API key."
    r = b.post(
        f"/campaigns/{cid}/processr/new?type=ui_test_remote",
        {**form, "config.token": "good-token"},
    )
    assert r.status_code == 303, r.text
    (job,) = jobs(site, cid)
    assert job["config"]["account"] == 7

    # Editing never writes the secret into the page; left blank, it is kept.
    edit = b.get(f"/campaigns/{cid}/processr/jobs/{job['id']}").text
    assert "good-token" not in edit
    assert 'placeholder="Saved (leave blank to keep)"' in edit
    assert '<option value="7" selected>Account 7 (eu)</option>' in edit
    r = ask({"token": "", "region": "us"}, job_id=job["id"])
    assert r.json()["options"][0]["label"] == "Account 7 (us)"
    r = b.post(
        f"/campaigns/{cid}/processr/jobs/{job['id']}",
        {**form, "config.token": "", "config.region": "us", "config.account": "8"},
    )
    assert r.status_code == 303
    (job,) = jobs(site, cid)
    assert job["config"]["account"] == 8 and job["config"]["region"] == "us"
    assert job["config"]["token"] != "good-token"  # the API masks it
    with site.sessions() as session:
        stored = session.get(ProcessrJob, job["id"])
        assert stored is not None and stored.config["token"] == "good-token"


def test_a_campaign_that_checks_nothing_says_so(site: Site) -> None:
    b, cid, _ = setup(site)
    page = b.get(f"/campaigns/{cid}/processr").text
    assert "This campaign checks nothing." in page
    body = {"type": "required_fields", "config": {"fields": ["email"]}}
    site.api.ok("POST", f"/campaigns/{cid}/jobs", 201, json=body)
    assert "This campaign checks nothing." not in b.get(f"/campaigns/{cid}/processr").text
