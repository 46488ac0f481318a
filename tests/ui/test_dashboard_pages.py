"""The dashboard pages: plain words when empty, charts as SVG images with their numbers as
tables and CSV, the period picker, and the publisher portal's own numbers only."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime

from tests.ui.conftest import Site

FIELDS = [{"name": "company"}, {"name": "email"}]


def _campaign_with_leads(site: Site) -> tuple[int, dict[str, str]]:
    """A campaign with an acceptance list; two publishers sending good and bad leads."""
    api = site.api
    cid = api.campaign("Solar", FIELDS)["id"]
    lid = api.ok("POST", "/lists", 201, json={"name": "Targets", "values": ["Acme"]})["id"]
    api.ok(
        "POST",
        f"/campaigns/{cid}/jobs",
        201,
        json={
            "type": "validation_list",
            "config": {
                "list_id": lid,
                "field_name": "company",
                "operator": "equal",
                "rule": "pass",
            },
        },
    )
    keys = {}
    for name, companies in (("North", ["Acme", "Acme", "Umbrella"]), ("=South", ["Umbrella"])):
        pub, key = api.publisher(name)
        api.ok("PUT", f"/campaigns/{cid}/publishers/{pub['id']}", 204)
        keys[name] = key["key"]
        for company in companies:
            api.ok(
                "POST",
                f"/publisher/campaigns/{cid}/leads",
                201,
                json={"data": {"company": company}},
                secret=key["key"],
            )
    return cid, keys


def test_an_empty_dashboard_says_so_in_plain_words(site: Site) -> None:
    admin = site.browser()
    page = admin.get("/dashboard")
    assert page.status_code == 200
    assert 'href="/i/' in page.text and ">Dashboard</a>" in page.text  # in the navigation
    assert "No leads came in these days" in page.text
    assert "<img" not in page.text  # no empty charts
    today = admin.get("/dashboard?period=today").text
    assert "No leads came in today" in today


def test_the_dashboard_draws_its_numbers(site: Site) -> None:
    cid, _ = _campaign_with_leads(site)
    admin = site.browser()
    page = admin.get(f"/campaigns/{cid}/dashboard?period=30d")
    assert page.status_code == 200, page.text
    html = page.text
    assert "Dashboard: Solar" in html and 'aria-current="page">Last 30 days' in html
    assert re.search(r'<span class="n">4</span> leads', html)
    assert re.search(r'<span class="n">2</span> valid', html)
    assert "50.0 %</span> accepted" in html
    # Each chart: an SVG image of ours, its table, its CSV.
    images = re.findall(r'<img src="([^"]+\.svg\?[^"]+)"', html)
    assert len(images) == 3, images
    for src in images:
        svg = admin.client.get(src.replace("&amp;", "&"))
        assert svg.status_code == 200
        assert svg.headers["content-type"].startswith("image/svg+xml")
        assert "script-src" not in svg.headers["content-security-policy"]
        assert svg.text.startswith("<svg") and "http://" not in svg.text.split("<defs>")[1]
    per_day = admin.client.get(images[0].replace("&amp;", "&")).text
    bars = re.findall(r'class="rect reactive tooltip-trigger"', per_day)
    assert len(bars) == 30 * 5  # 30 days, one segment per status
    assert datetime.now(UTC).strftime("%b %d") in per_day
    reasons_svg = admin.client.get(images[2].replace("&amp;", "&")).text
    assert "A value is not on the acceptance list" in reasons_svg
    assert (
        '<th scope="row">A value is not on the acceptance list</th>'
        "<td>validation_list.no_match</td><td>2</td><td>100.0 %</td>" in html
    )

    link = re.search(r'href="([^"]+acceptance-per-publisher\.csv[^"]*)"', html)
    assert link is not None
    got = admin.client.get(link.group(1).replace("&amp;", "&"))
    assert got.headers["content-type"].startswith("text/csv")
    assert "attachment" in got.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(got.text)))
    assert rows[0] == ["Publisher", "Leads", "Valid", "Caution", "Invalid", "Acceptance rate"]
    assert sorted(rows[1:]) == [
        ["'=South", "1", "0", "0", "1", "0.0 %"],
        ["North", "3", "2", "0", "1", "66.7 %"],
    ]


def test_the_period_picker_and_bad_periods(site: Site) -> None:
    cid, _ = _campaign_with_leads(site)
    admin = site.browser()
    custom = admin.get(f"/dashboard?campaign_id={cid}&period=custom&from=2026-01-01&to=2026-01-03")
    assert custom.status_code == 200
    assert (
        "2026-01-01 to 2026-01-03" in custom.text and "No leads came in these days" in custom.text
    )
    bad = admin.get("/dashboard?period=custom&from=2026-02-01&to=2026-01-01")
    assert bad.status_code == 422
    assert (
        "The period ends before it starts" in bad.text and "The last 7 days are shown" in bad.text
    )
    assert admin.get("/dashboard?period=forever").status_code == 422
    assert admin.get("/dashboard?campaign_id=99999999").status_code == 404
    assert admin.get("/dashboard/charts/nope.svg").status_code == 404


def test_another_instance_and_publishers_see_none_of_it(site: Site, other_site: Site) -> None:
    cid, _ = _campaign_with_leads(site)
    stranger = other_site.browser()
    assert stranger.get("/dashboard").text.count("No leads came in") == 1
    assert stranger.get(f"/dashboard?campaign_id={cid}").status_code == 404
    assert stranger.get(f"/campaigns/{cid}/dashboard").status_code == 404
    svg = stranger.get(f"/dashboard/charts/leads-per-day.svg?campaign_id={cid}")
    assert svg.status_code == 404
    publishers = site.api.ok("GET", "/publishers")
    items = publishers["items"] if isinstance(publishers, dict) else publishers
    north = next(p for p in items if p["name"] == "North")
    person = site.browser(role="publisher", publisher_id=north["id"])
    assert person.get("/dashboard").status_code == 403
    assert person.get("/dashboard/charts/leads-per-day.csv").status_code == 403
    portal = person.get("/portal").text
    assert "How your leads do" in portal
    assert re.search(r'<span class="n">3</span> leads', portal)  # North's 3, not all 4
    assert "66.7 %</span> accepted" in portal
    assert "A value is not on the acceptance list" in portal
    assert "=South" not in portal
