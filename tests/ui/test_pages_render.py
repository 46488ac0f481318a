"""Every page renders for a signed-in admin; bad addresses are pages too, never tracebacks."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from leadgate.jobs.registry import REGISTRY
from tests.ui.conftest import Site


def test_every_page_renders_for_an_admin(site: Site) -> None:
    b = site.browser()
    api = site.api
    cid = api.campaign("Solar")["id"]
    lst = api.ok("POST", "/lists", 201, json={"name": "Targets", "values": ["Acme"]})
    job = api.ok(
        "POST",
        f"/campaigns/{cid}/jobs",
        201,
        json={
            "type": "validation_list",
            "config": {"list_id": lst["id"], "field_name": "company", "rule": "pass"},
        },
    )
    pub, _ = api.publisher("P1")
    lead = api.ok("POST", f"/campaigns/{cid}/leads", 201, json={"data": {"company": "Acme"}})
    paths = [
        "/campaigns",
        f"/campaigns/{cid}",
        f"/campaigns/{cid}/processr",
        f"/campaigns/{cid}/processr?tab=enrichment",
        f"/campaigns/{cid}/processr?tab=integration",
        f"/campaigns/{cid}/processr/jobs/{job['id']}",
        "/lists",
        f"/lists/{lst['id']}",
        f"/lists/{lst['id']}?search=ac",
        "/leads",
        f"/leads?campaign_id={cid}&status=valid&date_from=2020-01-01&date_to=2099-12-31",
        f"/leads/{lead['id']}",
        "/deliveries",
        f"/deliveries?campaign_id={cid}&state=dead",
        "/publishers",
        f"/publishers/{pub['id']}",
        "/users",
        "/tokens",
        "/password",
    ]
    paths += [f"/campaigns/{cid}/processr/new?type={t.type}" for t in REGISTRY.all_types()]
    for path in paths:
        r = b.get(path)
        assert r.status_code == 200, (path, r.text[-2000:])
        assert r.headers["content-type"].startswith("text/html"), path
        assert 'name="csrf_token"' in r.text, path
    r = b.get(f"/lists/{lst['id']}/download")
    assert r.status_code == 200 and r.text == "value\r\nAcme\r\n"


def test_missing_things_are_plain_pages(site: Site, client: TestClient) -> None:
    b = site.browser()
    cid = site.api.campaign("Solar")["id"]
    for path, status in (
        ("/campaigns/999999999", 404),
        ("/campaigns/not-a-number", 404),
        ("/campaigns/99999999999999999999999", 404),
        ("/leads/999999999", 404),
        ("/lists/999999999", 404),
        ("/no/such/page", 404),
        ("/leads?status=lost", 422),
        ("/leads?date_from=yesterday", 422),
        ("/deliveries?state=lost", 422),
        ("/deliveries?campaign_id=x", 422),
        ("/deliveries?cursor=nope", 422),
        (f"/campaigns/{cid}/processr/new?type=nope", 422),
        (f"/campaigns/{cid}/processr/jobs/999999999", 404),
    ):
        r = b.get(path)
        assert r.status_code == status, (path, r.status_code)
        assert r.headers["content-type"].startswith("text/html"), path
        assert "Traceback" not in r.text and "<main" in r.text, path
        # Signed in: the navigation and the sign-out stay, so the person is not stranded.
        assert '<nav aria-label="Main">' in r.text and "Sign out" in r.text, path
        assert f'href="{b.base}/campaigns"' in r.text, path
    # Signed out: an error page shows no navigation (and asks nobody's session).
    anonymous = client.get(f"{b.base}/no/such/page")
    assert anonymous.status_code == 404 and '<nav aria-label="Main">' not in anonymous.text


def test_static_files_and_landing_page(site: Site, client: TestClient) -> None:
    b = site.browser()
    for name in ("app.css", "app.js"):
        r = b.client.get(f"{b.base}/static/{name}")
        assert r.status_code == 200 and len(r.content) > 1000
    # A favicon: named by every page, and at /favicon.ico for those that ask there.
    assert f'<link rel="icon" href="{b.base}/static/favicon.svg"' in b.get("/campaigns").text
    assert '<link rel="icon" href="/static/favicon.svg"' in client.get("/").text
    for url in (f"{b.base}/static/favicon.svg", "/static/favicon.svg", "/favicon.ico"):
        r = client.get(url)
        assert r.status_code == 200 and r.headers["content-type"].startswith("image/svg+xml")
        assert r.text.startswith("<svg")
    r = client.get("/")
    assert r.status_code == 200 and "/i/<em>instance</em>/ui/" in r.text
    r = client.post("/", data={"subdomain": "Acme "}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/i/acme/ui/sign-in"
    assert client.post("/", data={"subdomain": "../x"}).status_code == 422
    # The API's own errors are still problem+json.
    r = client.get(f"/i/{site.api.subdomain}/api/v1/campaigns/999999")
    assert r.headers["content-type"] == "application/problem+json"


INLINE = re.compile(r"<style|\sstyle=|<script(?![^>]*\ssrc=)|\son[a-z]+=|javascript:", re.I)


def test_pages_send_a_content_security_policy_they_keep(site: Site, client: TestClient) -> None:
    """Every page forbids inline script and style and being framed (issue 16); the pages hold
    nothing inline that the policy would block (the score bar is an SVG, the landing page's
    style a file). The API answers without the pages' headers."""
    b = site.browser()
    cid = site.api.campaign("Solar")["id"]
    lead = site.api.ok("POST", f"/campaigns/{cid}/leads", 201, json={"data": {"company": "A"}})
    anonymous = site.anonymous()
    answers = [
        b.get(f"/leads/{lead['id']}"),
        b.get(f"/campaigns/{cid}/processr/new?type=connect_delivery"),
        b.get("/campaigns/999999999"),
        b.get("/static/app.js"),
        anonymous.get("/sign-in"),
        client.get("/"),
        client.get("/static/landing.css"),
    ]
    assert 'class="scorebar' in answers[0].text and "<rect" in answers[0].text
    for r in answers:
        policy = r.headers.get("content-security-policy", "")
        assert "script-src 'self'" in policy and "style-src 'self'" in policy, r.url
        assert "frame-ancestors 'none'" in policy and "'unsafe-inline'" not in policy, r.url
        assert r.headers["x-frame-options"] == "DENY", r.url
        if r.headers["content-type"].startswith("text/html"):
            assert not INLINE.search(r.text), (r.url, INLINE.search(r.text))
    api = client.get(f"/i/{site.api.subdomain}/api/v1/campaigns")
    assert "content-security-policy" not in api.headers and "x-frame-options" not in api.headers
    assert "content-security-policy" not in client.get("/docs").headers
