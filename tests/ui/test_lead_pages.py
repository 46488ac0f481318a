"""Lead pages: filters, counts per status, keyset pages, the lead page and a person's verdict."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from leadgate.leads import pages as lead_pages
from leadgate.leads.models import Lead
from leadgate.leads.repository import first_id_from_any_instance as first_id_from
from tests.ui.conftest import Site

FIELDS = [{"name": "company", "label": "Company"}, {"name": "email"}]


def world(site: Site) -> tuple[int, int, list[dict[str, Any]]]:
    cid = site.api.campaign("Solar", FIELDS)["id"]
    other = site.api.holding_campaign("Wind", FIELDS)["id"]
    lid = site.api.ok("POST", "/lists", 201, json={"name": "Targets", "values": ["Acme"]})["id"]
    site.api.ok(
        "POST",
        f"/campaigns/{cid}/jobs",
        201,
        json={
            "type": "validation_list",
            "config": {"list_id": lid, "field_name": "company", "rule": "pass"},
        },
    )
    leads = [
        site.api.ok("POST", f"/campaigns/{cid}/leads", 201, json={"data": {"company": c}})
        for c in ("Acme", "Initech", "Acme", "Hooli")
    ]
    site.api.ok("POST", f"/campaigns/{other}/leads", 201, json={"data": {"company": "Acme"}})
    return cid, other, leads


def counts(page: str) -> dict[str, int]:
    return {s: int(n) for n, s in re.findall(r'<span class="n">(\d+)</span> (\w+)</a>', page)}


def test_filters_and_counts(site: Site) -> None:
    b = site.browser()
    cid, other, leads = world(site)
    # Exact counts: other instances' leads (this database holds many) are never counted.
    page = b.get("/leads").text
    assert counts(page) == {"pending": 1, "valid": 2, "caution": 0, "invalid": 2, "test": 0}
    page = b.get(f"/leads?campaign_id={cid}&status=invalid").text
    assert counts(page)["valid"] == 2  # counts cover every status of the filter
    shown = re.findall(r'href="/i/[^"]+/ui/leads/(\d+)"', page)
    assert sorted(int(i) for i in shown) == sorted(
        lead["id"] for lead in leads if lead["status"] == "invalid"
    )
    assert "Initech" in page and "Hooli" in page
    today = datetime.now(UTC).date()
    page = b.get(f"/leads?date_from={today}&date_to={today}").text
    assert sum(counts(page).values()) == 5
    page = b.get(f"/leads?date_to={today - timedelta(days=1)}").text
    assert sum(counts(page).values()) == 0 and "No leads match." in page
    page = b.get(f"/leads?date_from={today + timedelta(days=1)}").text
    assert sum(counts(page).values()) == 0
    page = b.get(f"/leads?campaign_id={other}").text
    assert counts(page) == {"pending": 1, "valid": 0, "caution": 0, "invalid": 0, "test": 0}


def test_pages_follow_the_keyset(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    b = site.browser()
    cid, _, leads = world(site)
    monkeypatch.setattr(lead_pages, "PAGE_SIZE", 3)
    seen: list[int] = []
    path = f"/leads?campaign_id={cid}"
    while True:
        page = b.get(path).text
        seen += [int(i) for i in re.findall(r'href="/i/[^"]+/ui/leads/(\d+)"', page)]
        found = re.search(r'href="/i/[^"]+/ui(/leads\?[^"]*cursor=[^"]+)" rel="next"', page)
        if not found:
            break
        path = found.group(1).replace("&amp;", "&")
    assert seen == sorted((lead["id"] for lead in leads), reverse=True)


def test_date_bounds_come_from_the_primary_key(site: Site) -> None:
    _, _, leads = world(site)
    with site.sessions() as session:
        rows = session.execute(
            select(Lead.id, Lead.created_at).where(Lead.id.in_([x["id"] for x in leads]))
        ).all()
        for lead_id, at in rows:
            assert first_id_from(session, at) <= lead_id
            assert first_id_from(session, at + timedelta(microseconds=1)) > lead_id
        future = datetime.now(UTC) + timedelta(days=1)
        assert first_id_from(session, future) > max(x["id"] for x in leads)


def test_the_lead_page_and_a_verdict(site: Site) -> None:
    b = site.browser()
    _, _, leads = world(site)
    failed = leads[1]
    page = b.get(f"/leads/{failed['id']}").text
    assert "The lead value does not equal any values on the validation list Targets" in page
    assert "0 / 10 (0%)" in page and "✗ Failed" in page
    assert "Company" in page and "Initech" in page
    r = b.post(f"/leads/{failed['id']}/verdict", {"status": "valid", "reason": " "})
    assert r.status_code == 422 and 'id="e-reason">Please fill this in.' in r.text
    r = b.post(f"/leads/{failed['id']}/verdict", {"status": "valid", "reason": "Known buyer"})
    assert r.status_code == 303
    out = site.api.ok("GET", f"/leads/{failed['id']}")
    assert out["status"] == "valid"
    assert out["history"][-1]["detail"] == {
        "from": "invalid",
        "to": "valid",
        "reason": "Known buyer",
        "user": b.email,
        "by": "user",
    }
    assert (
        f"From invalid to valid by {b.email}: Known buyer" in b.get(f"/leads/{failed['id']}").text
    )
    assert (
        b.post(f"/leads/{failed['id']}/verdict", {"status": "test", "reason": "x"}).status_code
        == 422
    )


def test_why_shows_the_persons_verdict_over_the_processr(site: Site) -> None:
    b = site.browser()
    _, _, leads = world(site)
    passed = leads[0]
    page = b.get(f"/leads/{passed['id']}").text
    assert "<p>Every check passed.</p>" in page and 'class="scorebar s-valid"' in page
    r = b.post(f"/leads/{passed['id']}/verdict", {"status": "invalid", "reason": "Wrong contact"})
    assert r.status_code == 303

    page = b.get(f"/leads/{passed['id']}").text
    why = re.search(r'<h2 id="flags-h">Why</h2>(.*?)<h2 id="data-h">', page, re.S)
    assert why, page
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", why.group(1))).strip()
    assert re.match(
        rf"invalid Marked invalid by {b.email} \(2\d{{3}}-.+ UTC\): “Wrong contact”\.", text
    )
    assert "The Processr had judged it valid (10 / 10): every check passed." in text
    assert "Every check passed." not in text
    # The bar is the Processr's score, coloured by its verdict, not the person's red.
    assert 'class="scorebar s-valid"' in page

    # Reprocessed: the Processr's verdict is the lead's again, and Why says only that.
    site.api.ok("POST", f"/leads/{passed['id']}/reprocess")
    page = b.get(f"/leads/{passed['id']}").text
    assert "Marked invalid by" not in page and "<p>Every check passed.</p>" in page


def test_history_speaks_of_names_not_ids(site: Site) -> None:
    b = site.browser()
    cid, _, leads = world(site)
    pub, key = site.api.publisher("Northwind Calls")
    site.api.ok("PUT", f"/campaigns/{cid}/publishers/{pub['id']}", 204)
    sent = site.api.ok(
        "POST",
        f"/publisher/campaigns/{cid}/leads",
        201,
        json={"data": {"company": "Initech"}},
        secret=key["key"],
    )
    text = re.sub(r"<[^>]+>", " ", b.get(f"/leads/{sent['id']}").text)
    text = re.sub(r"\s+", " ", text)
    assert "Received From Northwind Calls" in text
    assert "publisher id" not in text and "publisher_id" not in text
    assert "Checked by the Processr Score 0 of 10: invalid; score" not in text
    assert "Checked by the Processr Score 0 of 10: invalid" in text
    admin_sent = re.sub(r"<[^>]+>", " ", b.get(f"/leads/{leads[0]['id']}").text)
    assert "Received From an admin (not a publisher)" in re.sub(r"\s+", " ", admin_sent)

    # A hard fail names the job by its label, not by its type and id.
    (job,) = site.api.ok("GET", f"/campaigns/{cid}/jobs")["items"]
    site.api.ok(
        "PATCH",
        f"/campaigns/{cid}/jobs/{job['id']}",
        json={"label": "Targets only", "hardfail": True},
    )
    site.api.ok("POST", f"/leads/{sent['id']}/reprocess")
    reason = site.api.ok("GET", f"/leads/{sent['id']}")["history"][-1]["detail"]["reason"]
    assert reason == f"hard fail: Validation List (job {job['id']})"  # the API keeps the type
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", b.get(f"/leads/{sent['id']}").text))
    assert "invalid; hard fail: “Targets only” (reprocessed on request)" in text
    assert "(job " not in text
