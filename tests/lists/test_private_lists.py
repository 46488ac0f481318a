"""Private lists between two instances: no raw value leaves the client (Publisher API answers,
webhook bodies, the publisher's tables) through a switch to private, a full sync, a delta and a
key rotation; private and public mirrors judge alike; `contains` is refused both ways."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from leadgate.db import transaction
from leadgate.kit import sealing
from leadgate.lists import hashing
from leadgate.lists.hashing import Normalise
from leadgate.lists.models import ValidationList
from leadgate.mirror.models import ConnectMirror
from leadgate.mirror.sync import checked_encoding
from leadgate.peer.client import PeerRejected, routed_to
from leadgate.secret_rotation import rotate
from tests.conftest import AppTransport
from tests.factories import Api, Connected

KEY = hashing.new_key()

# Values added while the list is private: not one may ever reach the publisher.
SECRETS = ["Zorblax Industries", "Quintessa GmbH", "STRASSE Holdings"]


class Recording(httpx.BaseTransport):
    """The peer transport, keeping every answer body the publisher received."""

    def __init__(self, inner: AppTransport) -> None:
        self.inner = inner
        self.bodies: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        answer = self.inner.handle_request(request)
        self.bodies.append(answer.content.decode("utf-8", "replace"))
        return answer


def publisher_side(sessions: sessionmaker[Session], instance_id: int) -> list[str]:
    """Every row the publisher's instance holds, as JSON text: each table with an instance_id,
    its mirrors' values, and the task queue's arguments."""
    out: list[str] = []
    with sessions() as session:
        tables = session.scalars(
            text(
                "SELECT table_name FROM information_schema.columns WHERE table_schema = "
                "'public' AND column_name = 'instance_id'"
            )
        ).all()
        for table in tables:
            out += session.scalars(
                text(f'SELECT row_to_json(t)::text FROM "{table}" t WHERE instance_id = :i'),
                {"i": instance_id},
            ).all()
        out += session.scalars(
            text(
                "SELECT row_to_json(v)::text FROM connect_mirror_values v JOIN connect_mirrors m"
                " USING (job_id) WHERE m.instance_id = :i"
            ),
            {"i": instance_id},
        ).all()
        out += session.scalars(text("SELECT args::text FROM procrastinate_jobs")).all()
    return out


def leaks(texts: list[str], values: list[str]) -> list[tuple[str, str]]:
    """(value, where) of each value (in any case) found in one of the texts."""
    return [
        (v, t[:200])
        for t in texts
        for v in values
        if v.casefold() in t.casefold() or json.dumps(v)[1:-1].casefold() in t.casefold()
    ]


def webhook_bodies(sessions: sessionmaker[Session], instance_id: int) -> list[str]:
    with sessions() as session:
        return list(
            session.scalars(
                text("SELECT body FROM webhook_messages WHERE instance_id = :i"),
                {"i": instance_id},
            )
        )


def mirror_of(sessions: sessionmaker[Session], job_id: int) -> ConnectMirror:
    with sessions() as session:
        mirror = session.get(ConnectMirror, job_id)
        assert mirror is not None
        session.expunge(mirror)
        return mirror


def test_no_raw_value_of_a_private_list_leaves_the_client(
    acme: Api, other: Api, peers: AppTransport, sessions: sessionmaker[Session]
) -> None:
    w = Connected(acme, other)  # other is the client: its list Targets is public and mirrored
    lid = w.list["id"]
    before = mirror_of(sessions, w.mirror["id"])
    assert before.encoding is None and before.value_count == 2
    recorded = Recording(peers)
    with routed_to(recorded):
        # A switch to private: a new version, announced; the mirror's raw values are replaced.
        out = other.ok("PATCH", f"/lists/{lid}", json={"private": True})
        assert out["private"] is True and out["version"] == w.list["version"] + 1
        first_key = out["key_id"]
        w.sync()
        after_switch = recorded.bodies[:]
        m = mirror_of(sessions, w.mirror["id"])
        assert m.encoding is not None and m.encoding["key_id"] == first_key
        assert (m.list_version, m.value_count) == (out["version"], 2)
        assert not leaks(after_switch, ["Globex", "Acme"])
        assert not leaks(publisher_side(sessions, acme.instance_id), ["Globex"])

        # A delta while private: hashes added and removed, nothing else.
        other.ok("PATCH", f"/lists/{lid}/values", json={"add": SECRETS, "remove": ["Globex"]})
        w.sync()
        m = mirror_of(sessions, w.mirror["id"])
        assert m.value_count == 4 and m.list_version == out["version"] + 1

        # A rotation: a full re-sync under the new key.
        rotated = other.ok("POST", f"/lists/{lid}/rotate-key")
        assert rotated["key_id"] != first_key
        w.sync()
        m = mirror_of(sessions, w.mirror["id"])
        assert m.encoding is not None and m.encoding["key_id"] == rotated["key_id"]
        assert (m.value_count, m.list_version) == (4, rotated["version"])

    sent = [b for b in recorded.bodies if b]
    assert any('"mode":"delta"' in b.replace(" ", "") for b in sent)
    assert any('"mode":"full"' in b.replace(" ", "") for b in sent)
    assert not leaks(sent, [*SECRETS, "Globex", "Acme"])
    assert not leaks(webhook_bodies(sessions, other.instance_id), [*SECRETS, "Globex", "Acme"])
    held = publisher_side(sessions, acme.instance_id)
    assert any("connect_mirror_values" not in h for h in held)  # the scan saw rows
    assert not leaks(held, [*SECRETS, "Globex"])
    # Announced: each change of the list told the publisher (job.updated, list_version moved).
    events = [json.loads(b) for b in webhook_bodies(sessions, other.instance_id)]
    versions = [e["data"]["list_version"] for e in events if e["type"] == "job.updated"]
    assert rotated["version"] in versions and out["version"] in versions


def test_the_values_answer_of_a_private_list(
    acme: Api, other: Api, peers: AppTransport, sessions: sessionmaker[Session]
) -> None:
    w = Connected(acme, other)
    lid, cid, jid = w.list["id"], w.mirror["config"]["Campaign"], w.mirror["config"]
    jid = w.mirror["config"]["Campaign_Processr_Job"]
    other.ok("PATCH", f"/lists/{lid}/values", json={"add": ["ACME", "Straße"]})
    made = other.ok("PATCH", f"/lists/{lid}", json={"private": True, "name": "Hidden targets"})
    assert made["name"] == "Hidden targets"
    path = f"/publisher/campaigns/{cid}/jobs/{jid}"
    full = other.ok("GET", f"{path}/values", secret=w.client_key)
    assert full["mode"] == "full" and full["list_version"] == made["version"]
    enc = full["encoding"]
    assert enc["scheme"] == "hmac-sha256" and enc["key_id"] == made["key_id"]
    assert enc["normalise"] == {"trim": True, "casefold": True}
    assert (enc["min_length"], enc["max_length"]) == (4, len("strasse"))
    # ACME and Acme fold alike: one hash, sent once per value (the mirror keeps it once).
    assert len(set(full["values"])) == 3 and all(len(v) == 64 for v in full["values"])
    definition = other.ok("GET", path, secret=w.client_key)
    assert definition["list"] == {
        "name": "Hidden targets",
        "version": made["version"],
        "value_count": 4,
        "private": True,
        "min_length": 4,
        "max_length": 7,
    }
    # Removing ACME keeps the hash of "acme" (Acme stays); removing Acme then drops it.
    other.ok("PATCH", f"/lists/{lid}/values", json={"remove": ["ACME"]})
    delta = other.ok("GET", f"{path}/values?since={made['version']}", secret=w.client_key)
    assert (delta["mode"], delta["added"], delta["removed"]) == ("delta", [], [])
    # Removing the shortest value left the lengths unknown: measured by that answer, and kept
    # (a 1M-value list was scanned again by every definition and values answer).
    with sessions() as session:
        stored = session.execute(
            text("SELECT jsonb_typeof(lengths) FROM validation_lists WHERE id = :i"), {"i": lid}
        ).scalar_one()
    assert stored == "object"
    other.ok("PATCH", f"/lists/{lid}/values", json={"remove": ["Acme"]})
    delta = other.ok("GET", f"{path}/values?since={made['version']}", secret=w.client_key)
    assert len(delta["removed"]) == 1 and delta["added"] == []
    # The admin of the client still reads its own values; public again, publishers do too.
    assert "Globex" in other.ok("GET", f"/lists/{lid}/values")["items"]
    public = other.ok("PATCH", f"/lists/{lid}", json={"private": False})
    assert public["private"] is False and public["key_id"] is None
    again = other.ok("GET", f"{path}/values?since={made['version']}", secret=w.client_key)
    assert again["mode"] == "full" and "encoding" not in again
    assert sorted(again["values"]) == ["Globex", "Straße"]
    w.sync()
    m = mirror_of(sessions, w.mirror["id"])
    assert m.encoding is None and m.hash_key is None and m.value_count == 2
    bad = other.call("PATCH", f"/lists/{lid}", json={"private": "maybe"})
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_request"
    unknown = other.call("PATCH", f"/lists/{lid}", json={"secret": True})
    assert unknown.status_code == 422
    not_private = other.call("POST", f"/lists/{lid}/rotate-key")
    assert not_private.status_code == 422 and not_private.json()["code"] == "list_not_private"


def test_private_and_public_mirrors_judge_leads_alike(
    acme: Api, other: Api, peers: AppTransport
) -> None:
    w = Connected(acme, other)
    theirs = w.mirror["config"]["Campaign"]
    values = ["rival.example", "Mailinator.com", "acme"]
    reach = {k: w.mirror["config"][k] for k in ("Subdomain", "Campaign")}
    mirrors: dict[tuple[str, bool], int] = {}
    for private in (False, True):
        lst = other.ok("POST", "/lists", 201, json={"name": f"L{private}", "values": values})
        if private:
            other.ok("PATCH", f"/lists/{lst['id']}", json={"private": True})
        for operator in ("equal", "startswith", "endswith"):
            check = other.ok(
                "POST",
                f"/campaigns/{theirs}/jobs",
                201,
                json={
                    "type": "validation_list",
                    "visible_to_publishers": True,
                    "config": {
                        "list_id": lst["id"],
                        "field_name": "email",
                        "operator": operator,
                        "rule": "fail",
                    },
                },
            )
            job = acme.ok(
                "POST",
                f"/campaigns/{w.cid}/jobs",
                201,
                json={
                    "type": "connect_validation_list",
                    "config": {
                        **reach,
                        "API_Key": w.client_key,
                        "Campaign_Processr_Job": check["id"],
                        "Field_name": "workEmail",
                    },
                },
            )
            acme.ok("POST", f"/campaigns/{w.cid}/jobs/{job['id']}/sync")
            mirrors[(operator, private)] = job["id"]
    emails = ["kim@RIVAL.example", "acme@x.org", " acme ", "bo@mailinator.com", "x@y.z", "acme"]
    for email in emails:
        lead = acme.ok(
            "POST",
            f"/campaigns/{w.cid}/leads",
            201,
            json={"data": {"companyName": "Acme", "workEmail": email}},
        )
        passed = {j["job_id"]: j["passed"] for j in lead["jobs"]}
        for operator in ("equal", "startswith", "endswith"):
            assert passed[mirrors[(operator, False)]] == passed[mirrors[(operator, True)]], (
                email,
                operator,
            )
        for flag in lead["flags"]:
            if flag["job_id"] in {mirrors[(o, True)] for o in ("startswith", "endswith")}:
                assert "matched value" not in flag["message"]
    lead = acme.ok(
        "POST", f"/campaigns/{w.cid}/leads", 201, json={"data": {"workEmail": "kim@rival.example"}}
    )
    flagged = {f["job_id"] for f in lead["flags"]}
    assert mirrors[("endswith", True)] in flagged and mirrors[("endswith", False)] in flagged


def test_a_changed_case_mode_brings_hashes_made_the_new_way(
    acme: Api, other: Api, peers: AppTransport, sessions: sessionmaker[Session]
) -> None:
    w = Connected(acme, other)
    other.ok("PATCH", f"/lists/{w.list['id']}", json={"private": True})
    w.sync()
    first = mirror_of(sessions, w.mirror["id"])
    assert first.encoding is not None
    assert first.encoding["normalise"] == {"trim": True, "casefold": True}
    theirs, job = w.mirror["config"]["Campaign"], w.mirror["config"]["Campaign_Processr_Job"]
    other.ok("PATCH", f"/campaigns/{theirs}/jobs/{job}", json={"config": {"case_sensitive": True}})
    w.sync()
    after = mirror_of(sessions, w.mirror["id"])
    assert after.encoding is not None
    assert after.encoding["normalise"] == {"trim": True, "casefold": False}
    assert after.list_version == first.list_version and after.value_count == 2
    lead = acme.ok("POST", f"/campaigns/{w.cid}/leads", 201, json={"data": {"companyName": "ACME"}})
    assert lead["status"] == "invalid"  # "ACME" is not "Acme" any more
    lead = acme.ok("POST", f"/campaigns/{w.cid}/leads", 201, json={"data": {"companyName": "Acme"}})
    assert {j["job_id"]: j["passed"] for j in lead["jobs"]}[w.mirror["id"]] is True


def test_the_clients_own_flags_never_name_a_private_value(other: Api) -> None:
    campaign = other.campaign("Leads", [{"name": "email"}])
    lst = other.ok("POST", "/lists", 201, json={"name": "Rivals", "values": ["rival.example"]})
    other.ok(
        "POST",
        f"/campaigns/{campaign['id']}/jobs",
        201,
        json={
            "type": "validation_list",
            "config": {
                "list_id": lst["id"],
                "field_name": "email",
                "operator": "endswith",
                "rule": "fail",
            },
        },
    )
    body = {"data": {"email": "kim@rival.example"}}
    public = other.ok("POST", f"/campaigns/{campaign['id']}/leads", 201, json=body)
    assert "(matched value: rival.example)" in public["flags"][0]["message"]
    other.ok("PATCH", f"/lists/{lst['id']}", json={"private": True})
    private = other.ok("POST", f"/campaigns/{campaign['id']}/leads", 201, json=body)
    assert private["status"] == "invalid"
    assert private["flags"][0]["message"] == (
        "The lead value ends with a value on the suppression list Rivals on the field email"
    )


def test_contains_over_a_private_list_is_refused_both_ways(other: Api) -> None:
    campaign = other.campaign("Leads", [{"name": "email"}])
    lst = other.ok("POST", "/lists", 201, json={"name": "Staff", "values": ["acme.example"]})
    rule: dict[str, Any] = {"list_id": lst["id"], "field_name": "email", "rule": "fail"}
    job = other.ok(
        "POST",
        f"/campaigns/{campaign['id']}/jobs",
        201,
        json={
            "type": "validation_list",
            "label": "No staff",
            "config": {**rule, "operator": "contains"},
        },
    )
    r = other.call("PATCH", f"/lists/{lst['id']}", json={"private": True})
    assert r.status_code == 422, r.text
    problem = r.json()
    assert problem["code"] == "contains_on_private_list" and problem["job_ids"] == [job["id"]]
    assert f"Processr job {job['id']} “No staff”" in problem["detail"]
    assert other.ok("GET", f"/lists/{lst['id']}")["private"] is False  # nothing applied
    other.ok(
        "PATCH",
        f"/campaigns/{campaign['id']}/jobs/{job['id']}",
        json={"config": {"operator": "endswith"}},
    )
    other.ok("PATCH", f"/lists/{lst['id']}", json={"private": True})
    for method, path in (
        ("POST", f"/campaigns/{campaign['id']}/jobs"),
        ("PATCH", f"/campaigns/{campaign['id']}/jobs/{job['id']}"),
    ):
        body = {"config": {"operator": "contains"}}
        if method == "POST":
            body = {"type": "validation_list", "config": {**rule, "operator": "contains"}}
        r = other.call(method, path, json=body)
        assert r.status_code == 422, r.text
        assert r.json()["code"] == "contains_on_private_list"
        assert f"The list 'Staff' ({lst['id']}) is private" in r.json()["detail"]
    jobs = other.ok("GET", f"/campaigns/{campaign['id']}/jobs")
    assert [j["config"]["operator"] for j in jobs["items"]] == ["endswith"]


def test_secrets_rotate_reseals_the_list_keys(
    acme: Api, other: Api, peers: AppTransport, sessions: sessionmaker[Session]
) -> None:
    w = Connected(acme, other)
    other.ok("PATCH", f"/lists/{w.list['id']}", json={"private": True})
    w.sync()

    def stored() -> tuple[str, str]:
        with sessions() as session:
            a = session.scalar(
                text("SELECT hash_key FROM validation_lists WHERE id = :i"), {"i": w.list["id"]}
            )
            b = session.scalar(
                text("SELECT hash_key FROM connect_mirrors WHERE job_id = :i"),
                {"i": w.mirror["id"]},
            )
            return str(a), str(b)

    before = stored()
    assert all(sealing.is_sealed(s) for s in before)
    with sessions() as session:
        plain = session.get(ValidationList, w.list["id"])
        assert plain is not None and plain.hash_key is not None
        key = plain.hash_key
    with transaction(sessions) as session:
        rotate(session)
    after = stored()
    assert after[0] != before[0] and after[1] != before[1]
    with sessions() as session:
        reread = session.get(ValidationList, w.list["id"])
        assert reread is not None and reread.hash_key == key


def test_a_mirror_refuses_hashes_that_are_not_digests() -> None:
    good = hashing.digest(hashing.key_bytes(KEY), "acme")
    encoding = hashing.encoding("k1", Normalise(True, True), KEY, (4, 4))
    for bad in (["ACME" + good[4:]], [good[:-1]], [good + " "], [good, 7], "not a list"):
        body = {"list_version": 2, "mode": "full", "values": bad, "encoding": encoding}
        with pytest.raises(PeerRejected, match="not hex SHA-256 digests"):
            checked_encoding(body)
    body = {"list_version": 2, "mode": "full", "values": [good], "encoding": encoding}
    held = checked_encoding(body)
    assert held is not None and held[1] == KEY
