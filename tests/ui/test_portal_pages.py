"""The publisher portal: granted campaigns, shared rules, own leads and keys only."""

from __future__ import annotations

import re

from tests.ui.conftest import Site

FIELDS = [{"name": "company"}, {"name": "country"}]


def test_the_portal_shows_only_what_the_publishers_key_would(site: Site) -> None:
    api = site.api
    granted = api.campaign("Granted", FIELDS)["id"]
    hidden = api.campaign("Not granted", FIELDS)["id"]
    pub, key = api.publisher("LeadCo")
    rival, rival_key = api.publisher("Rival")
    for p in (pub, rival):
        api.ok("PUT", f"/campaigns/{granted}/publishers/{p['id']}", 204)
    lid = api.ok("POST", "/lists", 201, json={"name": "Targets", "values": ["A", "B"]})["id"]
    for visible, label in ((True, "Shared list"), (False, "Private list")):
        api.ok(
            "POST",
            f"/campaigns/{granted}/jobs",
            201,
            json={
                "type": "validation_list",
                "label": label,
                "visible_to_publishers": visible,
                "config": {"list_id": lid, "field_name": "company", "rule": "fail"},
            },
        )
    api.ok(
        "POST",
        f"/campaigns/{granted}/jobs",
        201,
        json={
            "type": "simple_conditional_validation",
            "label": "Countries",
            "visible_to_publishers": True,
            "config": {"field_name": "country", "operator": "EQUAL", "values": ["US", "CA"]},
        },
    )
    mine = api.ok(
        "POST",
        f"/publisher/campaigns/{granted}/leads",
        201,
        json={"data": {"company": "Z", "country": "US"}},
        secret=key["key"],
    )
    theirs = api.ok(
        "POST",
        f"/publisher/campaigns/{granted}/leads",
        201,
        json={"data": {"company": "Q", "country": "US"}},
        secret=rival_key["key"],
    )

    p = site.browser(role="publisher", publisher_id=pub["id"])
    page = p.get("/portal").text
    assert "Granted" in page and "Not granted" not in page
    assert "Shared list" in page and "Private list" not in page
    assert "must not match" in page and "List “Targets”: 2 values" in page
    assert "Countries" in page and "US; CA" in page

    page = p.get("/portal/leads").text
    ids = [int(i) for i in re.findall(r'/portal/leads/(\d+)"', page)]
    assert ids == [mine["id"]]
    assert p.get(f"/portal/leads/{mine['id']}").status_code == 200
    assert p.get(f"/portal/leads/{theirs['id']}").status_code == 404
    # The client's person marks it invalid: the publisher's Why says so, with the reason.
    api.ok(
        "POST", f"/leads/{mine['id']}/invalidate", json={"reason": "Wrong contact", "user": "kim"}
    )
    page = p.get(f"/portal/leads/{mine['id']}").text
    assert "Marked invalid by kim (" in page and "“Wrong contact”" in page
    assert "<p>Every check passed.</p>" not in page
    assert p.get(f"/portal/leads?campaign_id={hidden}").status_code == 200

    page = p.get("/portal/keys").text
    assert key["key"][:10] in page and rival_key["key"][:10] not in page
    r = p.post("/portal/keys")
    new = r.text.split('id="new-key">')[1].split("<")[0]
    assert api.call("GET", "/publisher/campaigns", secret=new).status_code == 200
    # A rival's key cannot be revoked from here.
    assert p.post(f"/portal/keys/{rival_key['id']}/revoke").status_code == 404
    assert api.call("GET", "/publisher/campaigns", secret=rival_key["key"]).status_code == 200
    assert p.post(f"/portal/keys/{key['id']}/revoke").status_code == 303
    assert api.call("GET", "/publisher/campaigns", secret=key["key"]).status_code == 401
