"""Structured logs (issue 16): `LEADGATE_LOG_FORMAT=json` writes one JSON object per line, and
every line logged while a request is served carries the request's id (`X-Request-Id`)."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from leadgate.kit import logs
from tests.conftest import AppTransport
from tests.factories import Api, Connected


@pytest.fixture
def json_logs() -> Iterator[io.StringIO]:
    """JSON lines into a buffer for the test; the run's own handlers afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    ours = logging.getLogger("leadgate").level
    out = io.StringIO()
    logs.configure("json", stream=out)
    try:
        yield out
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        logging.getLogger("leadgate").setLevel(ours)


def test_request_ids_are_kept_or_made_and_sent_back(client: TestClient) -> None:
    assert client.get("/healthz", headers={"X-Request-Id": "edge-42.a"}).headers[
        "x-request-id"
    ] == ("edge-42.a")
    for sent in (None, "x" * 65, "two words"):
        headers = {"X-Request-Id": sent} if sent else {}
        made = client.get("/healthz", headers=headers).headers["x-request-id"]
        assert re.fullmatch(r"[0-9a-f]{32}", made), made


def test_a_line_logged_for_a_request_is_json_with_its_id(
    client: TestClient, acme: Api, other: Api, peers: AppTransport, json_logs: io.StringIO
) -> None:
    w = Connected(acme, other)
    r = client.post(
        f"/i/{acme.subdomain}/api/v1/connect/events/{w.mirror['id']}",
        content=b'{"type": "job.updated"}',
        headers={
            "X-Request-Id": "req-forged-event",
            "webhook-id": "msg_1",
            "webhook-timestamp": "1",
            "webhook-signature": "v1,forged",
        },
    )
    assert r.status_code == 401
    lines = [json.loads(line) for line in json_logs.getvalue().splitlines() if line]
    refused = [x for x in lines if "refused an event" in x["message"]]
    assert refused, lines
    assert refused[0]["request_id"] == "req-forged-event"
    assert refused[0]["level"] == "WARNING" and refused[0]["logger"] == "leadgate.peer.inbound"
    assert "time" in refused[0]
