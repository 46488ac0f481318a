"""Connect pages: a mirrored job's sync state and "Sync now", the delivery connection (pause,
resume, re-pull the client's form), the field-mapping editor, and the deliveries with retries.

The client is another instance of the same app: the peer client's HTTP calls are routed into the
app in process (the browser test does the same over real HTTP between two server processes).
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from leadgate.db import transaction
from leadgate.delivery import pages as delivery_pages
from leadgate.delivery import service as delivery
from leadgate.delivery.models import Delivery, DeliveryAttempt, DeliveryConnection
from leadgate.processr.models import ProcessrJob
from tests.conftest import AppTransport
from tests.factories import Api
from tests.ui.conftest import Browser, Site

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


class Client:
    """The client's instance: a campaign shared with one publisher key, a list job, a form."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.campaign = api.campaign("Acme B2B", CLIENT_FORM)
        self.pub, key = api.publisher("LeadCo")
        self.key: str = key["key"]
        self.key_id: int = key["id"]
        api.ok("PUT", f"/campaigns/{self.campaign['id']}/publishers/{self.pub['id']}", 204)
        self.list = api.ok(
            "POST", "/lists", 201, json={"name": "Target Accounts", "values": ["Acme", "Globex"]}
        )
        self.job = api.ok(
            "POST",
            f"/campaigns/{self.campaign['id']}/jobs",
            201,
            json={
                "type": "validation_list",
                "label": "Target accounts only",
                "visible_to_publishers": True,
                "config": {
                    "list_id": self.list["id"],
                    "field_name": "company",
                    "operator": "equal",
                    "rule": "pass",
                },
            },
        )

    @property
    def subdomain(self) -> str:
        return self.api.subdomain


INLINE = re.compile(r"</?(?:a|strong|em|span|time|label|code)\b[^>]*>")


def text_of(page: str) -> str:
    """The page's text with tags dropped and spaces folded (what a person reads)."""
    flat = re.sub(r"<[^>]+>", " ", INLINE.sub("", page))
    return re.sub(r"\s+", " ", html.unescape(flat))


def error_of(page: str, name: str) -> str:
    found = re.search(rf'<p class="error" id="e-{re.escape(name)}"[^>]*>([^<]*)</p>', page)
    return html.unescape(found.group(1)) if found else ""


def selected(page: str, name: str) -> str:
    """The selected option's value of a select (empty when none is)."""
    found = re.search(rf'<select id="f-{re.escape(name)}".*?</select>', page, re.S)
    assert found, name
    option = re.search(r'<option value="([^"]*)" selected', found.group(0))
    return option.group(1) if option else ""


def panel(page: str, job_id: int) -> str:
    found = re.search(rf'<div class="connect-panel" id="connect-{job_id}".*?\n</div>', page, re.S)
    assert found, f"no Connect panel for job {job_id}"
    return text_of(found.group(0))


def test_a_mirrored_job_shows_its_sync_state_and_syncs_now(
    site: Site, other_site: Site, peers: AppTransport
) -> None:
    client = Client(other_site.api)
    b = site.browser()
    cid = site.api.campaign("Outbound", OUR_FORM)["id"]

    # The progressive form: the client's campaigns once the key and subdomain are there.
    page = b.get(f"/campaigns/{cid}/processr/new?type=connect_validation_list").text
    assert '<input id="f-config.API_Key" name="config.API_Key" type="password"' in page
    assert "Fill in API Key and Subdomain first." in page
    form = {
        "config.API_Key": client.key,
        "config.Subdomain": client.subdomain,
        "config.Campaign": str(client.campaign["id"]),
        "config.Field_name": "companyName",
        "label": "Acme's targets",
    }
    r = b.post(f"/campaigns/{cid}/processr/new?type=connect_validation_list", form)
    assert r.status_code == 422
    assert error_of(r.text, "config.Campaign_Processr_Job") == "Please fill this in."
    assert "Target accounts only — company equal, 2 values" in r.text
    assert f'<option value="{client.campaign["id"]}" selected>Acme B2B (active)</option>' in r.text
    r = b.post(
        f"/campaigns/{cid}/processr/new?type=connect_validation_list",
        {**form, "config.API_Key": "", "config.Campaign_Processr_Job": str(client.job["id"])},
    )
    assert r.status_code == 422 and error_of(r.text, "config.API_Key") == "Please fill this in."
    r = b.post(
        f"/campaigns/{cid}/processr/new?type=connect_validation_list",
        {**form, "config.Campaign_Processr_Job": str(client.job["id"])},
    )
    assert r.status_code == 303, r.text
    (job,) = site.api.ok("GET", f"/campaigns/{cid}/jobs")["items"]

    # Saved: the first sync is queued (no worker here), so the panel says it waits.
    page = b.get(f"/campaigns/{cid}/processr").text
    assert f"by the rule of {client.subdomain}" in text_of(page)
    shown = panel(page, job["id"])
    assert f"Sync with {client.subdomain} pending Not mirrored yet" in shown
    assert "Last synced never" in shown and "Change events not subscribed: polled" in shown
    assert 'data-sync-state="pending"' in page

    # Sync now: the mirror is fetched in the request.
    r = b.post(f"/campaigns/{cid}/processr/jobs/{job['id']}/sync")
    assert r.status_code == 303 and "notice=sync_ok" in r.headers["location"]
    page = b.get(r.headers["location"].removeprefix(b.base).split("#")[0]).text
    assert "Synced with the client." in page
    shown = panel(page, job["id"])
    assert f"Sync with {client.subdomain} ok In sync" in shown
    assert "Version 1 List version 1 Values 2 Last synced just now" in shown
    assert "Change events subscribed" in shown
    assert (
        "The client's rule: “Target accounts only”: their field company equal list "
        f"“Target Accounts” (match passes) (their campaign {client.campaign['id']}, "
        f"job {client.job['id']})." in shown
    )
    fragment = b.get(f"/api/campaigns/{cid}/jobs/{job['id']}/connect-panel")
    assert fragment.status_code == 200 and 'data-sync-state="ok"' in fragment.text
    assert "<html" not in fragment.text and 'name="csrf_token"' in fragment.text
    # The job's own page shows it too.
    assert "Sync with" in b.get(f"/campaigns/{cid}/processr/jobs/{job['id']}").text

    # The client stops sharing the job: gone, and what that means for leads.
    client.api.ok(
        "PATCH",
        f"/campaigns/{client.campaign['id']}/jobs/{client.job['id']}",
        json={"visible_to_publishers": False},
    )
    r = b.post(f"/campaigns/{cid}/processr/jobs/{job['id']}/sync")
    assert "notice=sync_gone" in r.headers["location"]
    shown = panel(b.get(f"/campaigns/{cid}/processr").text, job["id"])
    assert "gone The client's job was deleted or is no longer shared with you." in shown
    assert "Leads fail this job with the flag “connect.job_gone”" in shown
    assert "Failing since" in shown

    # A refused key is never "gone": the last good copy keeps judging, the error is shown.
    client.api.ok(
        "PATCH",
        f"/campaigns/{client.campaign['id']}/jobs/{client.job['id']}",
        json={"visible_to_publishers": True},
    )
    client.api.ok("DELETE", f"/publishers/{client.pub['id']}/api-keys/{client.key_id}", 204)
    r = b.post(f"/campaigns/{cid}/processr/jobs/{job['id']}/sync")
    assert "notice=sync_failed" in r.headers["location"]
    shown = panel(b.get(f"/campaigns/{cid}/processr").text, job["id"])
    assert "unavailable The client cannot be reached now" in shown
    assert "The client refused the API key" in shown

    # Only Connect jobs sync; only with a CSRF token.
    other = site.api.ok(
        "POST",
        f"/campaigns/{cid}/jobs",
        201,
        json={"type": "required_fields", "config": {"fields": ["role"]}},
    )
    assert b.post(f"/campaigns/{cid}/processr/jobs/{other['id']}/sync").status_code == 404
    r = b.post(f"/campaigns/{cid}/processr/jobs/{job['id']}/sync", {"csrf_token": "forged"})
    assert r.status_code == 403


def _delivery_setup(site: Site, client: Client) -> tuple[Browser, int]:
    b = site.browser()
    cid: int = site.api.campaign("Outbound", OUR_FORM)["id"]
    return b, cid


def ask_mapping(b: Browser, cid: int, config: dict[str, Any], **extra: Any) -> Any:
    return b.client.post(
        f"{b.base}/api/job-types/connect_delivery/mapping",
        json={"campaign_id": cid, "config": config, **extra},
        headers={"x-csrf-token": b.csrf},
    )


def test_the_field_mapping_editor(site: Site, other_site: Site, peers: AppTransport) -> None:
    client = Client(other_site.api)
    b, cid = _delivery_setup(site, client)
    page = b.get(f"/campaigns/{cid}/processr/new?type=connect_delivery&tab=integration").text
    assert "data-mapping" in page and 'name="config.Field_mapping"' not in page
    assert "Fill in API Key and Subdomain and Campaign first." in page

    # Once the client is known, its form beside ours, suggestions pre-selected.
    remote = {
        "API_Key": client.key,
        "Subdomain": client.subdomain,
        "Campaign": str(client.campaign["id"]),
    }
    r = ask_mapping(b, cid, remote)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    editor = r.text
    assert '<label for="f-config.Field_mapping.company" class="required">Company</label>' in editor
    assert '<label for="f-config.Field_mapping.country">Country</label>' in editor
    assert selected(editor, "config.Field_mapping.company") == "companyName"
    assert selected(editor, "config.Field_mapping.email") == "workEmail"
    assert selected(editor, "config.Field_mapping.country") == "countryCode"
    assert selected(editor, "config.Field_mapping.jobTitle") == ""
    assert '<option value="companyName" selected>Company (companyName) (suggested)' in editor
    assert (
        error_of(editor, "config.Field_mapping.jobTitle")
        == "The client requires this field: choose one of ours."
    )
    assert "The field mapping does not fit the client's form yet:" in text_of(editor)
    assert "the client's required field jobTitle is not mapped" in text_of(editor)
    # What the client answers instead is shown in the editor's place.
    r = ask_mapping(b, cid, {**remote, "API_Key": "lgp_not_the_key"})
    assert r.status_code == 200 and 'id="f-config.Field_mapping.company"' not in r.text
    assert error_of(r.text, "config.Field_mapping").startswith("The client refused this API key")
    r = ask_mapping(b, cid, {**remote, "API_Key": "short"})
    assert error_of(r.text, "config.Field_mapping") == "Check API_Key first."
    assert b.client.post(
        f"{b.base}/api/job-types/connect_delivery/mapping", json={"campaign_id": cid}
    ).status_code == (403)

    # Saved without the required field: the form comes back with the problem beside the editor.
    form = {
        "config.API_Key": client.key,
        "config.Subdomain": client.subdomain,
        "config.Campaign": str(client.campaign["id"]),
        "config.Field_mapping.company": "companyName",
        "config.Field_mapping.email": "workEmail",
        "config.Field_mapping.jobTitle": "",
        "config.Field_mapping.country": "countryCode",
        "label": "To Acme",
    }
    r = b.post(f"/campaigns/{cid}/processr/new?type=connect_delivery", form)
    assert r.status_code == 422
    assert error_of(r.text, "config.Field_mapping") == (
        "The field mapping does not fit: the client's required field jobTitle is not mapped."
    )
    assert selected(r.text, "config.Field_mapping.email") == "workEmail"
    r = b.post(
        f"/campaigns/{cid}/processr/new?type=connect_delivery",
        {**form, "config.Field_mapping.jobTitle": "role", "config.API_Key": client.key},
    )
    assert r.status_code == 303, error_of(r.text, "config.Field_mapping") or r.text[-3000:]
    (job,) = site.api.ok("GET", f"/campaigns/{cid}/jobs")["items"]
    assert job["config"]["Field_mapping"] == {
        "company": "companyName",
        "email": "workEmail",
        "jobTitle": "role",
        "country": "countryCode",
    }

    # Editing: the saved mapping, never the key.
    edit = b.get(f"/campaigns/{cid}/processr/jobs/{job['id']}").text
    assert selected(edit, "config.Field_mapping.jobTitle") == "role"
    assert client.key not in edit and "The field mapping is broken" not in edit
    # Asked again (another client campaign picked), the saved key is used: suggestions again.
    r = ask_mapping(b, cid, {**remote, "API_Key": ""}, job_id=job["id"])
    assert selected(r.text, "config.Field_mapping.company") == "companyName"
    assert selected(r.text, "config.Field_mapping.jobTitle") == ""
    # Dropping a field the client does not require is fine; the rest stays.
    r = b.post(
        f"/campaigns/{cid}/processr/jobs/{job['id']}",
        {**form, "config.API_Key": "", "config.Field_mapping.jobTitle": "role", "score": "10"},
    )
    r = b.post(
        f"/campaigns/{cid}/processr/jobs/{job['id']}",
        {
            **form,
            "config.API_Key": "",
            "config.Field_mapping.jobTitle": "role",
            "config.Field_mapping.country": "",
        },
    )
    assert r.status_code == 303
    saved = site.api.ok("GET", f"/campaigns/{cid}/jobs/{job['id']}")
    assert "country" not in saved["config"]["Field_mapping"]

    # The connection on the Processr page; the client changes its form: the mapping breaks.
    page = b.get(f"/campaigns/{cid}/processr?tab=integration").text
    assert f"valid leads to {client.subdomain}" in text_of(page)
    shown = panel(page, job["id"])
    assert f"Deliveries to {client.subdomain} (their campaign {client.campaign['id']}) open" in (
        shown
    )
    assert "0 dead 0 held 0 queued 0 delivered" in shown
    assert "Re-pull the client's form" in shown and "Dead letters (0)" in shown
    client.api.ok(
        "PUT",
        f"/campaigns/{client.campaign['id']}/fields",
        json={"fields": [*CLIENT_FORM, {"name": "phone", "required": True}]},
    )
    r = b.post(f"/campaigns/{cid}/processr/jobs/{job['id']}/connection/refresh-fields")
    assert "notice=fields_broken" in r.headers["location"]
    page = b.get(f"/campaigns/{cid}/processr?tab=integration&notice=fields_broken").text
    assert "The client's form changed: fix the mapping" in text_of(page)
    shown = panel(page, job["id"])
    assert "The field mapping is broken: deliveries are held until it fits." in shown
    assert "the client's required field phone is not mapped" in shown
    edit = b.get(f"/campaigns/{cid}/processr/jobs/{job['id']}").text
    assert error_of(edit, "config.Field_mapping.phone") == (
        "The client requires this field: choose one of ours."
    )
    assert "The field mapping is broken: deliveries are held until it fits." in text_of(edit)

    # Pause and resume by hand.
    r = b.post(f"/campaigns/{cid}/processr/jobs/{job['id']}/connection/pause")
    assert "notice=connection_paused" in r.headers["location"]
    shown = panel(b.get(f"/campaigns/{cid}/processr?tab=integration").text, job["id"])
    assert f"paused Paused just now (paused by {b.email})" in shown
    assert "Resume" in shown
    assert site.api.ok("GET", f"/campaigns/{cid}/jobs/{job['id']}/connection")["state"] == "paused"
    r = b.post(f"/campaigns/{cid}/processr/jobs/{job['id']}/connection/resume")
    assert "notice=connection_resumed" in r.headers["location"]
    assert site.api.ok("GET", f"/campaigns/{cid}/jobs/{job['id']}/connection")["state"] == "open"
    # Paused by the circuit breaker: said so, with its reason.
    with transaction(site.sessions) as session:
        conn = session.get(DeliveryConnection, job["id"])
        assert conn is not None
        conn.state, conn.paused_by, conn.paused_at = "paused", "breaker", datetime.now(UTC)
        conn.paused_reason = "10 deliveries in a row failed; last: timeout"
    shown = panel(b.get(f"/campaigns/{cid}/processr?tab=integration").text, job["id"])
    assert "Paused by the circuit breaker just now: 10 deliveries in a row failed" in shown
    assert "It resumes by itself once the client answers again" in shown
    assert b.post(f"/campaigns/{cid}/processr/jobs/999999/connection/pause").status_code == 404


def test_deliveries_dead_letters_first_with_attempts_and_retries(
    site: Site, other_site: Site, peers: AppTransport, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = Client(other_site.api)
    b, cid = _delivery_setup(site, client)
    mapping = {"company": "companyName", "email": "workEmail", "jobTitle": "role"}
    job = site.api.ok(
        "POST",
        f"/campaigns/{cid}/jobs",
        201,
        json={
            "type": "connect_delivery",
            "label": "To Acme",
            "config": {
                "API_Key": client.key,
                "Subdomain": client.subdomain,
                "Campaign": client.campaign["id"],
                "Field_mapping": mapping,
            },
        },
    )
    # A delivery job earns no score: the Processr shows none, its form asks for none.
    page = b.get(f"/campaigns/{cid}/processr?tab=integration").text
    row = re.search(rf'<tr id="job-{job["id"]}".*?</tr>', page, re.S)
    assert row and "Integration jobs earn no score" in row.group(0)
    assert '<td class="num">10</td>' not in row.group(0)
    edit = b.get(f"/campaigns/{cid}/processr/jobs/{job['id']}").text
    assert 'name="score"' not in edit and 'name="hardfail"' not in edit
    assert "it earns no score and cannot fail the lead" in edit
    assert 'name="score"' in b.get(f"/campaigns/{cid}/processr/new?type=required_fields").text
    site.api.ok(  # a lead with no job to pass stays pending
        "POST",
        f"/campaigns/{cid}/jobs",
        201,
        json={"type": "required_fields", "config": {"fields": ["workEmail"]}},
    )
    data = {"companyName": "Acme", "workEmail": "a@acme.example", "role": "CTO"}
    leads = [
        site.api.ok("POST", f"/campaigns/{cid}/leads", 201, json={"data": data}) for _ in range(4)
    ]
    with site.sessions() as session:
        ids = session.scalars(
            select(Delivery.id).where(Delivery.job_id == job["id"]).order_by(Delivery.id)
        ).all()
    assert len(ids) == 4
    settings = site.app.state.settings

    def deliver(delivery_id: int) -> str:
        with transaction(site.sessions) as session:
            return delivery.deliver(session, delivery_id, settings)

    # Delivered (the client judges it valid: Acme is on its list), then two refused for good.
    assert deliver(ids[0]) == "delivered"
    client.api.ok("PATCH", f"/campaigns/{client.campaign['id']}", json={"status": "paused"})
    assert deliver(ids[1]) == "dead" and deliver(ids[3]) == "dead"

    # The API: a list item leaves the attempts out (no empty `attempt_log` that looks like
    # none were made), one delivery has them; the OpenAPI says the same.
    listed = site.api.ok("GET", f"/deliveries?campaign_id={cid}")["items"]
    assert listed and all("attempt_log" not in item for item in listed)
    one = site.api.ok("GET", f"/deliveries/{ids[1]}")
    assert [a["outcome"] for a in one["attempt_log"]] == ["permanent"]
    schemas = site.api.ok("GET", "/openapi.json")["components"]["schemas"]
    assert "attempt_log" not in schemas["DeliveryItem"]["properties"]
    assert "attempt_log" in schemas["DeliveryDetail"]["required"]

    page = b.get("/deliveries").text
    order = [int(i) for i in re.findall(r'<tr id="delivery-(\d+)"', page)]
    assert order[:4] == [ids[3], ids[1], ids[2], ids[0]]  # dead first, then newest first
    text = text_of(page)
    assert "2 dead 0 held 1 queued 1 delivered" in text
    assert "Outbound: 2 dead deliveries Retry all dead" in text
    row = re.search(rf'<tr id="delivery-{ids[1]}".*?</tr>', page, re.S)
    assert row
    dead = text_of(row.group(0))
    assert "dead" in dead and "1 in this round" in dead and "permanent (403)" in dead
    assert "paused" in dead.lower()
    row = re.search(rf'<tr id="delivery-{ids[0]}".*?</tr>', page, re.S)
    assert row
    delivered = text_of(row.group(0))
    assert "delivered" in delivered and "valid 10 / 10" in delivered
    assert "Retry" not in delivered

    # Filter by state, and keyset pages across the dead and the rest.
    page = b.get(f"/deliveries?campaign_id={cid}&state=dead").text
    assert [int(i) for i in re.findall(r'<tr id="delivery-(\d+)"', page)] == [ids[3], ids[1]]
    monkeypatch.setattr(delivery_pages, "PAGE_SIZE", 1)
    seen: list[int] = []
    path = f"/deliveries?campaign_id={cid}"
    while True:
        page = b.get(path).text
        seen += [int(i) for i in re.findall(r'<tr id="delivery-(\d+)"', page)]
        found = re.search(r'href="/i/[^"]+/ui(/deliveries\?[^"]*cursor=[^"]+)" rel="next"', page)
        if not found:
            break
        path = html.unescape(found.group(1))
    assert seen == [ids[3], ids[1], ids[2], ids[0]]
    monkeypatch.setattr(delivery_pages, "PAGE_SIZE", 50)
    assert b.get("/deliveries?cursor=rest-x").status_code == 422
    assert b.get("/deliveries?state=lost").status_code == 422

    # The lead page: the client's verdict on top, the attempts below.
    page = text_of(b.get(f"/leads/{leads[0]['id']}").text)
    assert f"The client {client.subdomain} judged it valid (10 / 10)" in page
    assert "Deliveries and the client's verdict" in page
    assert "Delivered to the client Delivery #" in page

    # Retry one (the client takes leads again), then all the dead of the campaign.
    client.api.ok("PATCH", f"/campaigns/{client.campaign['id']}", json={"status": "active"})
    r = b.post(f"/deliveries/{ids[1]}/retry", {"state": "dead", "campaign_id": str(cid)})
    assert r.status_code == 303
    assert r.headers["location"].endswith(
        f"/deliveries?campaign_id={cid}&state=dead&notice=retried"
    )
    assert b.post(f"/deliveries/{ids[0]}/retry").status_code == 422  # delivered: nothing to retry
    with site.sessions() as session:
        again = session.get(Delivery, ids[1])
        assert again is not None and (again.state, again.attempts) == ("queued", 0)
        log = session.scalars(
            select(DeliveryAttempt).where(DeliveryAttempt.delivery_id == ids[1])
        ).all()
        assert len(log) == 1  # the attempt log is kept
    assert deliver(ids[1]) == "delivered"
    page = b.get("/deliveries").text
    row = re.search(rf'<tr id="delivery-{ids[1]}".*?</tr>', page, re.S)
    assert row and "1 in this round, 2 in all" in text_of(row.group(0))
    r = b.post(f"/campaigns/{cid}/deliveries/retry-dead")
    assert "notice=retried_all" in r.headers["location"]
    with site.sessions() as session:
        states = session.scalars(
            select(Delivery.state).where(Delivery.job_id == job["id"]).order_by(Delivery.id)
        ).all()
    assert states == ["delivered", "delivered", "queued", "queued"]
    assert (
        "Every dead delivery of the campaign is queued again."
        in b.get(f"/deliveries?campaign_id={cid}&notice=retried_all").text
    )
    with site.sessions() as session:
        stored = session.get(ProcessrJob, job["id"])
        assert stored is not None and stored.config["API_Key"] == client.key


def test_a_delivery_into_its_own_instance_is_refused_beside_the_subdomain(
    site: Site, peers: AppTransport
) -> None:
    b = site.browser()
    cid = site.api.campaign("Outbound", OUR_FORM)["id"]
    _, key = site.api.publisher("Ourselves")
    form = {
        "config.API_Key": key["key"],
        "config.Subdomain": site.api.subdomain,
        "config.Campaign": str(cid),
        "config.Field_mapping.companyName": "companyName",
        "label": "Back to ourselves",
    }
    r = b.post(f"/campaigns/{cid}/processr/new?type=connect_delivery", form)
    assert r.status_code == 422
    assert error_of(r.text, "config.Subdomain").startswith(
        f"The subdomain {site.api.subdomain} is this instance's own: a Connect delivery goes"
    )
    assert site.api.ok("GET", f"/campaigns/{cid}/jobs")["items"] == []


def test_a_mistyped_subdomain_says_there_is_no_such_instance(
    site: Site, other_site: Site, peers: AppTransport
) -> None:
    client = Client(other_site.api)
    typo = client.subdomain + "e"
    b = site.browser()
    cid = site.api.campaign("Outbound", OUR_FORM)["id"]

    # The API: the client's deployment answers 404 instance_not_found (not 401)...
    r = site.api.client.get(
        f"/i/{typo}/api/v1/publisher/campaigns", headers={"Authorization": f"Bearer {client.key}"}
    )
    assert (r.status_code, r.json()["code"]) == (404, "instance_not_found")
    assert r.json()["detail"] == f"There is no instance {typo} at this deployment."
    # ...and the dropdown that asks it says so, while a wrong key still is a wrong key.
    options = {"field": "Campaign", "campaign_id": cid}
    r = site.api.call(
        "POST",
        "/job-types/connect_validation_list/options",
        json={**options, "config": {"API_Key": client.key, "Subdomain": typo}},
    )
    assert (r.status_code, r.json()["code"]) == (422, "connect_no_instance")
    assert r.json()["detail"] == f"No instance {typo} at this deployment: check the subdomain."
    r = site.api.call(
        "POST",
        "/job-types/connect_validation_list/options",
        json={**options, "config": {"API_Key": "lgp_wrong", "Subdomain": client.subdomain}},
    )
    assert (r.status_code, r.json()["code"]) == (422, "connect_credentials_rejected")

    # The form: the dropdown that needs the client says why it is empty.
    form = {
        "config.API_Key": client.key,
        "config.Subdomain": typo,
        "config.Field_name": "companyName",
        "label": "Acme's targets",
    }
    r = b.post(f"/campaigns/{cid}/processr/new?type=connect_validation_list", form)
    assert r.status_code == 422
    assert error_of(r.text, "config.Campaign") == (
        f"No instance {typo} at this deployment: check the subdomain."
    )
    assert "refused" not in r.text


def test_a_second_mirror_of_one_client_job_warns(
    site: Site, other_site: Site, peers: AppTransport
) -> None:
    client = Client(other_site.api)
    cid = site.api.campaign("Outbound", OUR_FORM)["id"]
    config = {
        "API_Key": client.key,
        "Subdomain": client.subdomain,
        "Campaign": client.campaign["id"],
        "Campaign_Processr_Job": client.job["id"],
        "Field_name": "companyName",
    }

    def mirror(label: str, **changes: Any) -> Any:
        body = {"type": "connect_validation_list", "label": label, "config": {**config, **changes}}
        return site.api.ok("POST", f"/campaigns/{cid}/jobs", 201, json=body)

    first = mirror("Acme's targets")
    assert first["warnings"] == []
    second = mirror("Acme's targets again", Field_name="workEmail")  # saved, with a warning
    (warning,) = second["warnings"]
    assert warning.startswith(f"Job {first['id']} “Acme's targets” of this campaign judges by")
    assert "a lead is checked twice and earns its score twice" in warning
    listed = {j["id"]: j["warnings"] for j in site.api.ok("GET", f"/campaigns/{cid}/jobs")["items"]}
    assert listed == {first["id"]: [], second["id"]: [warning]}
    assert site.api.ok("GET", f"/campaigns/{cid}/jobs/{second['id']}")["warnings"] == [warning]

    page = site.browser().get(f"/campaigns/{cid}/processr").text
    row = re.search(rf'<tr id="job-{second["id"]}".*?</tr>', page, re.S)
    assert row and "⚠ Job" in html.unescape(row.group(0))
    row = re.search(rf'<tr id="job-{first["id"]}".*?</tr>', page, re.S)
    assert row and "data-job-warning" not in row.group(0)

    # Pointed at another client campaign, it is another rule: no warning.
    other = client.api.campaign("Acme B2C", CLIENT_FORM)
    client.api.ok("PUT", f"/campaigns/{other['id']}/publishers/{client.pub['id']}", 204)
    patched = site.api.ok(
        "PATCH", f"/campaigns/{cid}/jobs/{second['id']}", json={"config": {"Campaign": other["id"]}}
    )
    assert patched["warnings"] == []
