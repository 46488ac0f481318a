"""The list page's "Private" switch and a private list's mirror on the publisher's page."""

from __future__ import annotations

from tests.conftest import AppTransport
from tests.factories import Connected
from tests.ui.conftest import Site


def test_the_private_switch_and_the_mirror_panel(
    site: Site, other_site: Site, peers: AppTransport
) -> None:
    w = Connected(site.api, other_site.api)  # other_site is the client
    lid = w.list["id"]
    client = other_site.browser()
    page = client.get(f"/lists/{lid}").text
    assert "publishers who mirror a check over it never see its values" in page
    assert "data-private-switch>" in page and "checked" not in page.split("data-private")[0][-80:]
    r = client.post(f"/lists/{lid}/privacy", {"private": "on"})
    assert r.status_code == 303 and "notice=made_private" in r.headers["location"]
    out = other_site.api.ok("GET", f"/lists/{lid}")
    assert out["private"] is True
    page = client.get(f"/lists/{lid}?notice=made_private").text
    assert "publishers now get keyed hashes of its values only" in page
    assert f"<code data-key-id>{out['key_id']}</code>" in page and " checked data-private" in page
    index = client.get("/lists").text
    assert 'class="badge s-private"' in index.split(f'/lists/{lid}"')[1].split("</tr>")[0]
    r = client.post(f"/lists/{lid}/rotate-key")
    assert "notice=key_rotated" in r.headers["location"]
    assert other_site.api.ok("GET", f"/lists/{lid}")["key_id"] != out["key_id"]

    # The publisher's page: hashed values counted, none shown.
    w.sync()
    ours = site.browser()
    panel = ours.get(f"/api/campaigns/{w.cid}/jobs/{w.mirror['id']}/connect-panel").text
    assert "values hidden by the client: 2 hashed values" in panel
    assert "a flag names the client's rule, never the value that matched" in panel
    assert "Globex" not in panel

    # Off again; and a contains check keeps it from being switched on, said beside the switch.
    client.post(f"/lists/{lid}/privacy", {})
    assert other_site.api.ok("GET", f"/lists/{lid}")["private"] is False
    campaign = other_site.api.campaign("Staff", [{"name": "email"}])
    config = {"list_id": lid, "field_name": "email", "operator": "contains", "rule": "fail"}
    job = other_site.api.ok(
        "POST",
        f"/campaigns/{campaign['id']}/jobs",
        201,
        json={"type": "validation_list", "config": config},
    )
    r = client.post(f"/lists/{lid}/privacy", {"private": "on"})
    assert r.status_code == 422
    assert f"Processr job {job['id']}" in r.text and "cannot be made private" in r.text
