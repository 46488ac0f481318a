"""`POST /publisher/campaigns/{cid}/leads/batch`: up to 500 leads, each answered as alone."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from leadgate.app import create_app
from leadgate.config import Settings
from tests.factories import Api
from tests.portal.test_publisher_api import Setup

GOOD = {"company": "Acme", "country": "US", "email": "a@acme.example"}


def batch(s: Setup, items: list[dict[str, Any]], **kw: Any) -> Any:
    return s.pub_call("POST", f"/campaigns/{s.cid}/leads/batch", json={"items": items}, **kw)


def test_each_item_is_answered_in_order_and_a_bad_one_spoils_nothing(acme: Api) -> None:
    s = Setup(acme)
    r = batch(
        s,
        [
            {"idempotency_key": "b-1", "data": GOOD},
            {"data": {"company": "X", "favouriteColour": "red"}},
            {"data": {"company": "Acme\u0000Evil"}},
            {"data": {"company": "Nobody", "country": "US"}},
            {"data": GOOD, "extra": 1},
        ],
    )
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert [i["status"] for i in items] == [201, 422, 422, 201, 422]
    assert items[0]["lead"]["status"] == "valid" and items[0]["problem"] is None
    assert items[1]["problem"]["code"] == "unknown_fields"
    assert "NUL character" in items[2]["problem"]["detail"]
    assert items[3]["lead"]["status"] == "invalid"
    assert items[3]["lead"]["flags"][0]["code"] == "validation_list.no_match"
    assert items[4]["problem"]["code"] == "invalid_request"
    # Stored leads are the publisher's leads, as if sent one by one.
    for item in (items[0], items[3]):
        lead = s.pub_call("GET", f"/leads/{item['lead']['id']}").json()
        assert lead["status"] == item["lead"]["status"]


def test_a_replayed_batch_answers_the_same_leads(acme: Api) -> None:
    s = Setup(acme)
    items = [{"idempotency_key": f"r-{i}", "data": {**GOOD, "company": "acme"}} for i in range(5)]
    first = batch(s, items).json()["items"]
    assert [i["status"] for i in first] == [201] * 5
    again = batch(s, items).json()["items"]
    assert [i["status"] for i in again] == [200] * 5
    assert [i["lead"]["id"] for i in again] == [i["lead"]["id"] for i in first]
    # The same key with another body is a conflict for that item only; a key twice in one
    # batch stores one lead.
    mixed = batch(
        s,
        [
            {"idempotency_key": "r-0", "data": {"company": "Else"}},
            {"idempotency_key": "r-new", "data": GOOD},
            {"idempotency_key": "r-new", "data": GOOD},
        ],
    ).json()["items"]
    assert [i["status"] for i in mixed] == [409, 201, 200]
    assert mixed[0]["problem"]["code"] == "idempotency_conflict"
    assert mixed[1]["lead"]["id"] == mixed[2]["lead"]["id"]
    single = s.pub_call(
        "POST",
        f"/campaigns/{s.cid}/leads",
        json={"data": GOOD},
        headers={"Idempotency-Key": "r-new"},
    )
    assert single.status_code == 200 and single.json()["id"] == mixed[1]["lead"]["id"]


def test_limits_of_a_batch(acme: Api) -> None:
    s = Setup(acme)
    too_many = batch(s, [{"data": GOOD}] * 501)
    assert too_many.status_code == 422 and too_many.json()["code"] == "invalid_request"
    assert batch(s, []).status_code == 422
    big = {"company": "x" * 5000}
    too_large = batch(s, [{"data": big}] * 300)
    assert too_large.status_code == 413 and too_large.json()["code"] == "too_large"
    r = acme.call(
        "POST", f"/publisher/campaigns/{s.cid}/leads/batch", json={"items": [{"data": GOOD}]}
    )
    assert r.status_code in (401, 404)  # an admin token is no publisher key
    wrong = acme.call(
        "POST",
        f"/publisher/campaigns/{s.cid}/leads/batch",
        json={"items": [{"data": GOOD}]},
        secret="lgp_not_a_key",
    )
    assert wrong.status_code == 401 and wrong.json()["code"] == "unauthorized"
    ungranted = acme.campaign("Not granted")["id"]
    r = s.pub_call("POST", f"/campaigns/{ungranted}/leads/batch", json={"items": [{"data": GOOD}]})
    assert r.json()["items"][0]["problem"]["code"] == "campaign_not_found"


def test_the_rate_limit_counts_items(settings: Settings, database_url: str, acme: Api) -> None:
    s = Setup(acme)
    limited = create_app(settings.model_copy(update={"rate_limit_requests": 3}), database_url)
    with TestClient(limited) as c:
        url = f"/i/{acme.subdomain}/api/v1/publisher/campaigns/{s.cid}/leads/batch"
        headers = {"Authorization": f"Bearer {s.key}"}
        r = c.post(url, json={"items": [{"data": GOOD}] * 5}, headers=headers)
        statuses = [i["status"] for i in r.json()["items"]]
        assert statuses == [201, 201, 201, 429, 429]
        assert r.json()["items"][3]["problem"]["code"] == "rate_limited"
