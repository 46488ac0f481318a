"""A stored client key goes only where it was entered for (issue 16, probe finding 9): a masked,
blank or omitted API key is kept while the job's Subdomain stays the same; a change of Subdomain
needs the key again (the UI form's side: tests/ui/test_secret_form.py)."""

from __future__ import annotations

from tests.conftest import AppTransport
from tests.factories import Api, Connected


def calls_with(peers: AppTransport, since: int, subdomain: str) -> list[str]:
    """The peer calls made since `since` to that subdomain."""
    return [path for _, path in peers.seen[since:] if f"/i/{subdomain}/" in path]


def test_a_new_subdomain_needs_the_key_again(acme: Api, other: Api, peers: AppTransport) -> None:
    w = Connected(acme, other)
    url = f"/campaigns/{w.cid}/jobs/{w.mirror['id']}"
    stored = acme.ok("GET", url)
    masked = stored["config"]["API_Key"]
    assert masked.startswith("••••")
    evil = "evil"
    before = len(peers.seen)
    for patch in (
        {"config": {"Subdomain": evil, "API_Key": masked}},  # the masked key sent back
        {"config": {"Subdomain": evil}},  # merged: the key left out
        {"config": {**stored["config"], "Subdomain": evil}},  # the whole config, masked key
    ):
        r = acme.call("PATCH", url, json=patch)
        assert r.status_code == 422, r.text
        body = r.json()
        assert body["code"] == "secret_required" and "API_Key" in body["detail"], body
    assert acme.ok("GET", url)["config"] == stored["config"]  # nothing changed
    assert calls_with(peers, before, evil) == []  # and the stored key went nowhere
    # The same Subdomain keeps the key (a merge, or the masked key sent back) ...
    kept = acme.ok("PATCH", url, json={"config": {"Pass_if_job_is_gone": True}})
    assert kept["config"]["API_Key"] == masked and kept["config"]["Pass_if_job_is_gone"]
    kept = acme.ok("PATCH", url, json={"config": {**kept["config"], "Field_name": "companyName"}})
    assert kept["config"]["API_Key"] == masked
    # ... and a new Subdomain with the key entered again is taken.
    moved = acme.call(
        "PATCH", url, json={"config": {"Subdomain": evil, "API_Key": "lgp_a-new-key"}}
    )
    assert moved.status_code == 200, moved.text
