"""The two endpoints that take a client's signed events: a correctly signed body that is not
the event it should be answers 422 invalid_event, never 500 (issue 16, finding 8); and what has
no receiver here answers the same 410 whether the instance exists or not (finding 11)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx2 as httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker
from standardwebhooks import Webhook

from leadgate.delivery.models import DeliveryConnection
from leadgate.mirror.models import ConnectMirror
from tests.conftest import AppTransport
from tests.factories import Api, Connected


@pytest.fixture
def raw(app: FastAPI) -> Iterator[TestClient]:
    """A client that sees a server error as a 500 answer."""
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def _signed(secret: str, body: bytes) -> dict[str, str]:
    msg_id, at = f"msg_{uuid.uuid4().hex}", datetime.now(UTC)
    return {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, at, body.decode()),
    }


def _endpoints(w: Connected, sessions: sessionmaker[Session]) -> list[tuple[str, str, str]]:
    """(url, secret, event type) of the mirror's and the delivery's event endpoints."""
    with sessions() as s:
        mirror = s.get(ConnectMirror, w.mirror["id"])
        conn = s.get(DeliveryConnection, w.delivery["id"])
        assert mirror is not None and mirror.webhook_secret
        assert conn is not None and conn.webhook_secret
        base = f"/i/{w.ours.subdomain}/api/v1/connect"
        return [
            (f"{base}/events/{w.mirror['id']}", mirror.webhook_secret, "job.updated"),
            (f"{base}/lead-events/{w.delivery['id']}", conn.webhook_secret, "lead.status_changed"),
        ]


# Bodies no event endpoint takes; `%s` is the endpoint's event type.
MALFORMED: list[tuple[str, bytes]] = [
    ("not JSON", b"this is not json"),
    ("an array", b'[{"type": "%s"}]'),
    ("a string", b'"%s"'),
    ("no type", b'{"data": {}}'),
    ("type not a string", b'{"type": 5, "data": {}}'),
    ("data not an object", b'{"type": "%s", "data": [1, 2]}'),
    ("data a string", b'{"type": "%s", "data": "x"}'),
    ("deep", b'{"type": "%s", "data": {"x": ' + b"[" * 5000 + b"]" * 5000 + b"}}"),
]
# And per endpoint, data whose members are not what the contract says.
BAD_DATA = {
    "job.updated": [
        ("job_id a string", b'{"job_id": "7"}'),
        ("version a string", b'{"version": "2"}'),
        ("job_id beyond bigint", b'{"job_id": 99999999999999999999}'),
    ],
    "lead.status_changed": [
        ("lead_id a string", b'{"lead_id": "7", "status": "valid"}'),
        ("lead_id missing", b'{"status": "valid"}'),
        ("lead_id beyond bigint", b'{"lead_id": 99999999999999999999, "status": "valid"}'),
        ("status unknown", b'{"lead_id": 7, "status": "bogus"}'),
        ("reason not text", b'{"lead_id": 7, "status": "valid", "reason": {"a": 1}}'),
    ],
}


def test_signed_but_malformed_events_are_422(
    acme: Api, other: Api, peers: AppTransport, raw: TestClient, sessions: sessionmaker[Session]
) -> None:
    w = Connected(acme, other)
    for url, secret, event_type in _endpoints(w, sessions):
        cases = [(what, body.replace(b"%s", event_type.encode())) for what, body in MALFORMED]
        cases += [
            (what, b'{"type": "' + event_type.encode() + b'", "data": ' + data + b"}")
            for what, data in BAD_DATA[event_type]
        ]
        for what, body in cases:
            r = raw.post(url, content=body, headers=_signed(secret, body))
            assert r.status_code == 422, (url, what, r.status_code, r.text)
            assert r.json()["code"] == "invalid_event", (what, r.text)
        # Not UTF-8 (so it cannot even be signed as text): refused before the signature.
        r = raw.post(url, content=b'{"type": "\xff"}', headers=_signed(secret, b"{}"))
        assert r.status_code == 422 and r.json()["code"] == "invalid_event", r.text
        # A well-formed event is taken (for the delivery: a lead we never sent, its own 422).
        body = json.dumps(
            {"type": event_type, "data": {"job_id": 1, "lead_id": 1, "status": "valid"}}
        )
        r = raw.post(url, content=body.encode(), headers=_signed(secret, body.encode()))
        expected = 204 if event_type == "job.updated" else 422
        assert r.status_code == expected, r.text
        if expected == 422:
            assert r.json()["code"] == "unknown_lead"
    # A garbled signature header is a bad signature (401), not a crash.
    url, secret, _ = _endpoints(w, sessions)[0]
    body = b'{"type": "job.updated", "data": {}}'
    headers = {**_signed(secret, body), "webhook-signature": "v1-no-comma"}
    r = raw.post(url, content=body, headers=headers)
    assert r.status_code == 401 and r.json()["code"] == "bad_signature", r.text


def test_nothing_to_receive_answers_alike_for_any_instance(
    acme: Api, other: Api, peers: AppTransport, raw: TestClient, sessions: sessionmaker[Session]
) -> None:
    """Without credentials, a stranger must not learn from the event endpoints which instances
    exist: a missing instance and an instance without that mirror answer the same."""
    w = Connected(acme, other)
    body = b'{"type": "job.updated", "data": {}}'
    answers: list[httpx.Response] = []
    for sub in ("no-such-instance-anywhere", acme.subdomain):
        for kind in ("events", "lead-events"):
            url = f"/i/{sub}/api/v1/connect/{kind}/999999999"
            answers.append(raw.post(url, content=body, headers=_signed("whsec_" + "A" * 32, body)))
    assert {(a.status_code, a.text) for a in answers} == {(answers[0].status_code, answers[0].text)}
    assert answers[0].status_code == 410 and answers[0].json()["code"] == "mirror_gone"
    assert w.mirror["id"]  # the instance has mirrors; just not that one
