"""Publishers, keys (shown once, stored hashed, revoked at once) and campaign grants."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from leadgate.instances.models import PublisherApiKey
from leadgate.kit.secrets import hash_secret
from tests.factories import Api


def test_key_is_stored_only_as_hash(acme: Api, sessions: sessionmaker[Session]) -> None:
    _, key = acme.publisher()
    with sessions() as s:
        stored = s.scalars(select(PublisherApiKey).where(PublisherApiKey.id == key["id"])).one()
    assert stored.key_hash == hash_secret(key["key"])
    assert key["key"] not in (stored.key_hash, stored.prefix)


def test_grant_revoke_and_key_revocation_are_immediate(acme: Api) -> None:
    pub, key = acme.publisher()
    cid = acme.campaign("Granted")["id"]
    acme.campaign("Not granted")
    assert acme.ok("GET", "/publisher/campaigns", secret=key["key"])["items"] == []

    acme.ok("PUT", f"/campaigns/{cid}/publishers/{pub['id']}", 204)
    acme.ok("PUT", f"/campaigns/{cid}/publishers/{pub['id']}", 204)  # idempotent
    items = acme.ok("GET", "/publisher/campaigns", secret=key["key"])["items"]
    assert items == [{"id": cid, "name": "Granted", "status": "active"}]
    fields = acme.ok("GET", f"/publisher/campaigns/{cid}/fields", secret=key["key"])["items"]
    assert [f["name"] for f in fields][:2] == ["firstName", "email"]

    acme.ok("DELETE", f"/campaigns/{cid}/publishers/{pub['id']}", 204)
    assert acme.ok("GET", "/publisher/campaigns", secret=key["key"])["items"] == []
    r = acme.call("GET", f"/publisher/campaigns/{cid}/fields", secret=key["key"])
    assert r.status_code == 404 and r.json()["code"] == "campaign_not_found"

    acme.ok("DELETE", f"/publishers/{pub['id']}/api-keys/{key['id']}", 204)
    r = acme.call("GET", "/publisher/campaigns", secret=key["key"])
    assert r.status_code == 401


def test_publisher_key_cannot_use_admin_endpoints(acme: Api) -> None:
    _, key = acme.publisher()
    r = acme.call("GET", "/campaigns", secret=key["key"])
    assert r.status_code == 401


def test_grant_unknown_publisher_or_campaign(acme: Api) -> None:
    pub, _ = acme.publisher()
    cid = acme.campaign()["id"]
    r = acme.call("PUT", f"/campaigns/{cid}/publishers/99999999")
    assert r.status_code == 404 and r.json()["code"] == "publisher_not_found"
    r = acme.call("PUT", f"/campaigns/99999999/publishers/{pub['id']}")
    assert r.status_code == 404 and r.json()["code"] == "campaign_not_found"
