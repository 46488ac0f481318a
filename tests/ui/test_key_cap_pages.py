"""The key cap on the pages: the admin's publisher page and the publisher's own keys page
show the refusal beside the keys, not an error page."""

from __future__ import annotations

from tests.ui.conftest import Site


def test_the_pages_say_why_no_key_was_made(site: Site) -> None:
    pub, _ = site.api.publisher("LeadCo")
    for _ in range(9):
        site.api.ok("POST", f"/publishers/{pub['id']}/api-keys", 201)
    admin = site.browser()
    r = admin.post(f"/publishers/{pub['id']}/keys")
    assert r.status_code == 409 and "the most it may hold" in r.text and "LeadCo" in r.text
    person = site.browser(role="publisher", publisher_id=pub["id"])
    r = person.post("/portal/keys")
    assert r.status_code == 409 and "revoke one it no longer uses first" in r.text
    assert "Your API keys" in r.text
