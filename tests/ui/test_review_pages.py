"""The review queue and the reasons page (admins only), and the publisher's CSV of its own
invalid leads with reasons."""

from __future__ import annotations

import csv
import io
import re

from tests.ui.conftest import Site

FIELDS = [{"name": "company"}, {"name": "email"}]


def held(site: Site) -> tuple[int, dict[str, object], str, list[int]]:
    """A campaign whose leads without an email are `caution` (10 of 12), sent by a publisher."""
    api = site.api
    cid = api.campaign("Held", FIELDS)["id"]
    for field, score in (("company", 10), ("email", 2)):
        api.ok(
            "POST",
            f"/campaigns/{cid}/jobs",
            201,
            json={"type": "required_fields", "score": score, "config": {"fields": [field]}},
        )
    pub, key = api.publisher("LeadCo")
    api.ok("PUT", f"/campaigns/{cid}/publishers/{pub['id']}", 204)
    ids = [
        api.ok(
            "POST",
            f"/publisher/campaigns/{cid}/leads",
            201,
            secret=key["key"],
            json={"data": {"company": f"Co {i}"}},
        )["id"]
        for i in range(3)
    ]
    return cid, pub, key["key"], ids


def counts(page: str) -> dict[str, int]:
    found = re.findall(r'data-status="(\w+)"[^>]*><span class="n">(\d+)</span>', page)
    return {s: int(n) for s, n in found}


def test_queue_marks_selected_leads_with_a_reason(site: Site) -> None:
    cid, _, _, ids = held(site)
    b = site.browser()
    page = b.get("/review").text
    assert counts(page)["caution"] == 3 and counts(page)["invalid"] == 0
    assert all(f'value="{i}"' in page for i in ids)
    assert page.count("The required field email is missing or empty") == 3  # flags in words
    assert 'href="/i/' + site.api.subdomain + '/ui/review" aria-current="page"' in page
    r = b.post("/reasons", {"name": "Returned: wrong contact"})
    assert r.status_code == 303
    r = b.post(
        "/review",
        {
            "lead_id": [str(ids[0]), str(ids[2])],
            "action": "invalid",
            "reason": "Returned: wrong contact",
            "comment": "fax number",
            "status": "caution",
            "campaign_id": str(cid),
        },
    )
    assert r.status_code == 303, r.text
    page = b.client.get(r.headers["location"]).text
    assert "The leads are marked" in page
    assert counts(page) == {"pending": 0, "valid": 0, "caution": 1, "invalid": 2, "test": 0}
    lead = site.api.ok("GET", f"/leads/{ids[0]}")
    assert lead["history"][-1]["detail"]["reason"] == "Returned: wrong contact"
    assert lead["history"][-1]["detail"]["user"] == b.email
    page = b.get(f"/leads/{ids[0]}").text
    assert f"From caution to invalid by {b.email}: Returned: wrong contact (fax number)" in page
    # Invalid ones on request; every lead of the filter at once.
    page = b.get(f"/review?status=invalid&campaign_id={cid}").text
    assert f'value="{ids[0]}"' in page and f'value="{ids[1]}"' not in page
    r = b.post(
        "/review",
        {"every": "true", "action": "valid", "reason": "None", "status": "invalid"},
    )
    assert r.status_code == 303
    assert [site.api.ok("GET", f"/leads/{i}")["status"] for i in ids] == [
        "valid",
        "caution",
        "valid",
    ]


def test_queue_refuses_what_it_cannot_do(site: Site) -> None:
    _, pub, _, ids = held(site)
    b = site.browser()
    b.get("/review")
    r = b.post("/review", {"action": "invalid", "reason": "None"})
    assert r.status_code == 422 and "Select at least one lead" in r.text
    r = b.post("/review", {"lead_id": str(ids[0]), "action": "pending", "reason": "None"})
    assert r.status_code == 422 and "Choose what to mark the leads as" in r.text
    r = b.post("/review", {"lead_id": str(ids[0]), "action": "valid", "reason": "Gone"})
    assert r.status_code == 422 and "is not one of this instance" in r.text
    r = b.post("/review", {"lead_id": "999999999", "action": "valid", "reason": "None"})
    assert r.status_code == 422 and "nothing was changed" in r.text
    assert site.api.ok("GET", f"/leads/{ids[0]}")["status"] == "caution"
    # Publishers' people never see it.
    p = site.browser(role="publisher", publisher_id=pub["id"])
    assert p.get("/review").status_code == 403 and p.get("/reasons").status_code == 403


def test_reasons_page(site: Site) -> None:
    b = site.browser()
    page = b.get("/reasons").text
    assert ">None<" in page
    assert b.post("/reasons", {"name": "Test lead"}).status_code == 303
    r = b.post("/reasons", {"name": "test LEAD"})
    assert r.status_code == 409 and "already" in r.text
    rows = site.api.ok("GET", "/reasons")["items"]
    assert [x["name"] for x in rows] == ["None", "Test lead"]
    assert b.post(f"/reasons/{rows[1]['id']}", {"name": "Test data"}).status_code == 303
    assert b.post(f"/reasons/{rows[0]['id']}/remove").status_code == 303
    r = b.post(f"/reasons/{rows[1]['id']}/remove")
    assert r.status_code == 409 and "last reason" in r.text
    assert [x["name"] for x in site.api.ok("GET", "/reasons")["items"]] == ["Test data"]


def test_publisher_downloads_its_own_invalid_leads_with_reasons(site: Site) -> None:
    cid, pub, _, ids = held(site)
    rival, rival_key = site.api.publisher("Rival")
    site.api.ok("PUT", f"/campaigns/{cid}/publishers/{rival['id']}", 204)
    theirs = site.api.ok(
        "POST",
        f"/publisher/campaigns/{cid}/leads",
        201,
        secret=rival_key["key"],
        json={"data": {}},
    )
    assert theirs["status"] == "invalid"
    site.api.ok(
        "POST",
        "/leads/bulk-status",
        json={
            "lead_ids": [ids[1]],
            "status": "invalid",
            "reason": "None",
            "comment": "=cmd|' /C calc'!A0",
        },
    )
    p = site.browser(role="publisher", publisher_id=pub["id"])
    assert "/portal/leads/export.csv?campaign_id=" in p.get("/portal").text
    assert "/portal/leads/export.csv?status=invalid" in p.get("/portal/leads").text
    r = p.get("/portal/leads/export.csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [int(x["id"]) for x in rows] == [ids[1]]  # its own, invalid; never the rival's
    assert rows[0]["reason"] == "None: =cmd|' /C calc'!A0"
    assert rows[0]["publisher"] == "LeadCo" and rows[0]["company"] == "Co 1"
    every = list(csv.DictReader(io.StringIO(p.get("/portal/leads/export.csv?status=").text)))
    assert sorted(int(x["id"]) for x in every) == sorted(ids)
    hidden = site.api.campaign("Not granted", FIELDS)["id"]
    assert p.get(f"/portal/leads/export.csv?campaign_id={hidden}").status_code == 404
    # Admins have the API's export, not the portal's.
    assert site.browser().get("/portal/leads/export.csv").status_code == 403
