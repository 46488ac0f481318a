"""The lead routes' headers: an empty Idempotency-Key is no key, and a delivery path
(`Leadgate-Hops`) that comes round to this instance, or runs too long, is refused."""

from __future__ import annotations

from typing import Any

from tests.factories import Api
from tests.portal.test_publisher_api import Setup

GOOD = {"company": "Acme", "country": "US", "email": "a@acme.example"}


def _single(s: Setup, headers: dict[str, str], data: dict[str, Any] = GOOD) -> Any:
    return s.pub_call("POST", f"/campaigns/{s.cid}/leads", json={"data": data}, headers=headers)


def _batch(s: Setup, items: list[dict[str, Any]], headers: dict[str, str] | None = None) -> Any:
    return s.pub_call(
        "POST", f"/campaigns/{s.cid}/leads/batch", json={"items": items}, headers=headers or {}
    )


def test_an_empty_idempotency_key_is_no_key(acme: Api) -> None:
    s = Setup(acme)
    ids = []
    for key in ("", "", "   ", "\t"):
        r = _single(s, {"Idempotency-Key": key})
        assert r.status_code == 201, (key, r.text)
        ids.append(r.json()["id"])
    assert len(set(ids)) == 4  # each one a new lead, as without the header
    items = [{"idempotency_key": key, "data": GOOD} for key in ("", "", "  ")]
    for _ in range(2):
        r = _batch(s, items)
        assert r.status_code == 200, r.text
        assert [i["status"] for i in r.json()["items"]] == [201, 201, 201]


def test_a_lead_that_came_round_is_refused(acme: Api, other: Api) -> None:
    s = Setup(acme)
    here, there = acme.subdomain, other.subdomain
    for path in (here, f"{there}, {here}", f"{here},{there}"):
        r = _single(s, {"Leadgate-Hops": path})
        assert r.status_code == 409, r.text
        assert r.json()["code"] == "delivery_loop"
        assert f"already passed through {here}" in r.json()["detail"]
        r = _batch(s, [{"data": GOOD}], {"Leadgate-Hops": path})
        assert r.status_code == 409 and r.json()["code"] == "delivery_loop", r.text
    too_long = ", ".join(f"i{n}" for n in range(6))
    for r in (
        _single(s, {"Leadgate-Hops": too_long}),
        _batch(s, [{"data": GOOD}], {"Leadgate-Hops": too_long}),
    ):
        assert r.status_code == 409 and r.json()["code"] == "delivery_loop", r.text
        assert "at most 5" in r.json()["detail"]
    for bad in ("Not A Subdomain", "a,,b"):
        r = _single(s, {"Leadgate-Hops": bad})
        assert r.status_code == 422 and r.json()["code"] == "invalid_request", r.text
    # A wrong key is told so first, loop or not.
    wrong = acme.call(
        "POST",
        f"/publisher/campaigns/{s.cid}/leads",
        secret="lgp_not_a_key",
        json={"data": GOOD},
        headers={"Leadgate-Hops": here},
    )
    assert wrong.status_code == 401
    assert acme.ok("GET", f"/leads?campaign_id={s.cid}")["items"] == []  # nothing stored


def test_a_path_that_does_not_come_round_is_taken_and_kept(acme: Api, other: Api) -> None:
    s = Setup(acme)
    five = ", ".join([other.subdomain, "b", "c", "d", "e"])
    r = _single(s, {"Leadgate-Hops": five})
    assert r.status_code == 201, r.text
    history = acme.ok("GET", f"/leads/{r.json()['id']}")["history"]
    assert history[0]["event"] == "received"
    assert history[0]["detail"]["hops"] == [other.subdomain, "b", "c", "d", "e"]
    r = _batch(s, [{"data": GOOD}], {"Leadgate-Hops": other.subdomain})
    assert [i["status"] for i in r.json()["items"]] == [201]
    lead_id = r.json()["items"][0]["lead"]["id"]
    assert acme.ok("GET", f"/leads/{lead_id}")["history"][0]["detail"]["hops"] == [other.subdomain]
    # Without the header, nothing about paths is recorded.
    plain = _single(s, {}).json()
    assert "hops" not in acme.ok("GET", f"/leads/{plain['id']}")["history"][0]["detail"]
