"""Campaign pages: create, form fields (add, reorder, remove), status, publishers and keys."""

from __future__ import annotations

import re

from tests.ui.conftest import Site


def test_create_and_edit_the_form(site: Site) -> None:
    b = site.browser()
    r = b.post("/campaigns", {"name": "  "})
    assert r.status_code == 422 and "Please fill this in." in r.text
    r = b.post("/campaigns", {"name": "Solar"})
    cid = int(r.headers["location"].split("/campaigns/")[1].split("?")[0])
    # Rows are kept in the order sent (the page reorders rows without renaming them).
    r = b.post(
        f"/campaigns/{cid}/fields",
        {
            "fields.3.name": "email",
            "fields.3.type": "email",
            "fields.3.required": "true",
            "fields.0.name": "country",
            "fields.0.label": "Country",
            "fields.0.type": "select",
            "fields.0.options": "US; CA ;; GB",
            "fields.7.name": "fax",
            "fields.7.remove": "true",
            "fields.9.name": "",
            "fields.9.type": "text",
        },
    )
    assert r.status_code == 303, r.text
    fields = site.api.ok("GET", f"/campaigns/{cid}")["fields"]
    assert [(f["name"], f["type"], f["required"]) for f in fields] == [
        ("email", "email", True),
        ("country", "select", False),
    ]
    assert fields[1]["options"] == ["US", "CA", "GB"] and fields[1]["label"] == "Country"
    # An example of choices only where choices fit: the select field, not the email one.
    page = b.get(f"/campaigns/{cid}").text
    inputs = dict(re.findall(r'<input id="f-fields\.(\d+)\.options"([^>]*)>', page))
    assert len(inputs) == 3  # email, country, the blank row
    assert "placeholder" not in inputs["0"]  # email
    assert 'placeholder="US; CA; GB"' in inputs["1"]  # country, a select
    assert "placeholder" not in inputs["2"]  # the blank row is text


def test_form_errors_are_shown_on_their_row(site: Site) -> None:
    b = site.browser()
    cid = site.api.campaign("Solar", [{"name": "email"}])["id"]
    r = b.post(
        f"/campaigns/{cid}/fields",
        {
            "fields.0.name": "email",
            "fields.1.name": "bad name",
            "fields.2.name": "pick",
            "fields.2.type": "select",
        },
    )
    assert r.status_code == 422
    assert re.search(r'id="e-fields\.1">[^<]*letter or _', r.text)
    assert re.search(r'id="e-fields\.2">[^<]*needs options', r.text)
    # What was typed is still there to correct.
    assert 'value="bad name"' in r.text
    assert [f["name"] for f in site.api.ok("GET", f"/campaigns/{cid}")["fields"]] == ["email"]
    r = b.post(f"/campaigns/{cid}/fields", {"fields.0.name": "a", "fields.1.name": "a"})
    assert r.status_code == 422 and "is used twice" in r.text


def test_pause_resume_rename(site: Site) -> None:
    b = site.browser()
    cid = site.api.campaign("Solar")["id"]
    r = b.post(f"/campaigns/{cid}/status", {"status": "paused"})
    assert r.headers["location"].endswith("notice=paused")
    assert site.api.ok("GET", f"/campaigns/{cid}")["status"] == "paused"
    assert "accepts no leads" in b.get(f"/campaigns/{cid}?notice=paused").text
    b.post(f"/campaigns/{cid}/status", {"status": "active"})
    assert site.api.ok("GET", f"/campaigns/{cid}")["status"] == "active"
    assert b.post(f"/campaigns/{cid}/status", {"status": "deleted"}).status_code == 422
    b.post(f"/campaigns/{cid}/settings", {"name": "Solar 2"})
    assert site.api.ok("GET", f"/campaigns/{cid}")["name"] == "Solar 2"


def test_publishers_get_access_and_a_key_shown_once(site: Site) -> None:
    b = site.browser()
    cid = site.api.campaign("Solar")["id"]
    r = b.post(f"/campaigns/{cid}/publishers/new", {"publisher_name": "LeadCo"})
    assert r.status_code == 200
    key = r.text.split('id="new-key">')[1].split("<")[0]
    assert key.startswith("lgp_")
    # The key works for this campaign at once, and is never shown again.
    r2 = site.api.call("GET", "/publisher/campaigns", secret=key)
    assert [c["id"] for c in r2.json()["items"]] == [cid]
    assert key not in b.get(f"/campaigns/{cid}").text
    other, _ = site.api.publisher("Other")
    assert b.post(f"/campaigns/{cid}/publishers", {"publisher_id": ""}).status_code == 422
    assert (
        b.post(f"/campaigns/{cid}/publishers", {"publisher_id": str(other["id"])}).status_code
        == 303
    )
    page = b.get(f"/campaigns/{cid}").text
    assert "LeadCo" in page and "Other" in page
    b.post(f"/campaigns/{cid}/publishers/{other['id']}/revoke")
    assert (
        "Other"
        not in b.get(f"/campaigns/{cid}").text.split('id="publishers"')[1].split("Give access")[0]
    )


def test_publisher_keys_are_listed_by_prefix_and_revoked(site: Site) -> None:
    b = site.browser()
    pub, key = site.api.publisher("LeadCo")
    page = b.get(f"/publishers/{pub['id']}").text
    assert key["key"][:10] in page and key["key"] not in page
    r = b.post(f"/publishers/{pub['id']}/keys")
    new = r.text.split('id="new-key">')[1].split("<")[0]
    assert site.api.call("GET", "/publisher/campaigns", secret=new).status_code == 200
    b.post(f"/publishers/{pub['id']}/keys/{key['id']}/revoke")
    assert site.api.call("GET", "/publisher/campaigns", secret=key["key"]).status_code == 401
    r = b.post("/publishers", {"name": "Second"})
    assert r.status_code == 200 and 'id="new-key">lgp_' in r.text
