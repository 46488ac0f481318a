"""`POST /connect/field-mapping` with a bad config answers 422 naming the key, and neither the
answer nor the log carries any of the submitted key (issue 16, probe finding 4)."""

from __future__ import annotations

import logging

import pytest

from tests.factories import Api

KEY = "lgp_" + "s3cr3t" * 40  # 244 characters: over the 200 allowed


@pytest.mark.parametrize(
    ("config", "named"),
    [
        ({"API_Key": KEY, "Subdomain": "acme", "Campaign": 1}, "API_Key"),
        ({"API_Key": "lgp_s3cr3t-key", "Subdomain": "Not A Subdomain", "Campaign": 1}, "Subdomain"),
        ({"API_Key": "lgp_s3cr3t-key", "Subdomain": "", "Campaign": 1}, "Subdomain"),
        ({"API_Key": "", "Subdomain": "acme", "Campaign": 1}, "API_Key"),
        ({"API_Key": "lgp_s3cr3t-key", "Subdomain": "acme", "Campaign": 0}, "Campaign"),
    ],
)
def test_a_bad_config_is_a_422_without_the_key(
    acme: Api, caplog: pytest.LogCaptureFixture, config: dict[str, object], named: str
) -> None:
    cid = acme.campaign()["id"]
    with caplog.at_level(logging.DEBUG):
        r = acme.call("POST", "/connect/field-mapping", json={**config, "campaign_id": cid})
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["code"] == "invalid_request"
    assert [e["loc"][-1] for e in body["errors"]] == [named], body
    assert "s3cr3t" not in r.text and "s3cr3t" not in caplog.text
