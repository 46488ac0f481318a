"""The audit log's page names the people who made the changes (issue 16)."""

from __future__ import annotations

from tests.audit.test_audit import events_of
from tests.ui.conftest import Site


def test_people_are_named_and_the_page_shows_the_log(site: Site) -> None:
    b = site.browser("boss@example.com")
    r = b.post("/users", {"email": "new@example.com", "role": "admin"})
    assert r.status_code == 200, r.text[:300]
    assert b.post("/tokens", {"name": "nightly import"}).status_code == 200
    events = events_of(site.api)
    assert [(e["action"], e["actor"]) for e in events[:2]] == [
        ("token.issued", "boss@example.com"),
        ("user.created", "boss@example.com"),
    ]
    page = b.get("/audit")
    assert page.status_code == 200
    assert "API token created" in page.text and "User added" in page.text
    assert "new@example.com" in page.text and "boss@example.com" in page.text
    publisher_person = site.browser(role="publisher", publisher_id=site.api.publisher()[0]["id"])
    assert publisher_person.get("/audit").status_code == 403
