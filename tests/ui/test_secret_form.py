"""The job form asks for the client key again when the Subdomain changes (issue 16, finding 9):
a blank key is kept only while the job still points at the same client instance."""

from __future__ import annotations

from tests.conftest import AppTransport
from tests.factories import Connected
from tests.processr.test_secret_targets import calls_with
from tests.ui.conftest import Site


def test_the_form_asks_for_the_key_when_the_subdomain_changes(
    site: Site, other_site: Site, peers: AppTransport
) -> None:
    w = Connected(site.api, other_site.api)
    b = site.browser()
    path = f"/campaigns/{w.cid}/processr/jobs/{w.delivery['id']}"
    page = b.get(path)
    assert page.status_code == 200
    form = {
        "config.API_Key": "",
        "config.Subdomain": "evil",
        "config.Campaign": str(w.delivery["config"]["Campaign"]),
        "label": "Deliver",
    }
    before = len(peers.seen)
    r = b.post(path, form)
    assert r.status_code == 422, r.text[:500]
    assert 'id="e-config.API_Key"' in r.text and "Enter the API_Key again" in r.text
    assert calls_with(peers, before, "evil") == []
    stored = site.api.ok("GET", f"/campaigns/{w.cid}/jobs/{w.delivery['id']}")
    assert stored["config"]["Subdomain"] == other_site.api.subdomain
