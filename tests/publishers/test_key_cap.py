"""A publisher holds at most 10 working API keys (issue 16, finding 10): more keys must not
multiply its rate limit. Revoking one makes room; the API, the admin page and the portal say
so plainly."""

from __future__ import annotations

from tests.factories import Api


def test_an_eleventh_working_key_is_refused_until_one_is_revoked(acme: Api) -> None:
    pub, first = acme.publisher("LeadCo")
    for _ in range(9):
        acme.ok("POST", f"/publishers/{pub['id']}/api-keys", 201)
    r = acme.call("POST", f"/publishers/{pub['id']}/api-keys")
    assert r.status_code == 409 and r.json()["code"] == "too_many_keys", r.text
    assert "revoke one" in r.json()["detail"]
    acme.ok("DELETE", f"/publishers/{pub['id']}/api-keys/{first['id']}", 204)
    acme.ok("POST", f"/publishers/{pub['id']}/api-keys", 201)
    other, _ = acme.publisher("Other")  # per publisher: another one has its own ten
    acme.ok("POST", f"/publishers/{other['id']}/api-keys", 201)
