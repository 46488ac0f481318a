"""Connect mirrors end to end: two real server processes of one deployment, real HTTP between
the publisher's and the client's instances (DESIGN.md: Connect; issue steps 1-7)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from leadgate.db import transaction
from leadgate.users.service import create_instance
from tests.servers import Server, free_port, server_env, wait_for

FIELDS = [{"name": "company"}, {"name": "country"}, {"name": "email"}]


class Instance:
    def __init__(self, server: Server, subdomain: str, token: str) -> None:
        self.server, self.subdomain, self.token = server, subdomain, token

    def call(
        self,
        method: str,
        path: str,
        *,
        secret: str | None = None,
        via: Server | None = None,
        **kw: Any,
    ) -> httpx.Response:
        base = (via or self.server).url + f"/i/{self.subdomain}/api/v1"
        headers = {"Authorization": f"Bearer {secret or self.token}"}
        return httpx.request(method, base + path, headers=headers, timeout=30, **kw)

    def ok(self, method: str, path: str, status: int = 200, **kw: Any) -> Any:
        r = self.call(method, path, **kw)
        assert r.status_code == status, f"{method} {path}: {r.status_code} {r.text}"
        return r.json() if r.content else None


@pytest.fixture(scope="module")
def deployment(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Server, Server]]:
    """Server A answers on the template's port (the client's side is reached there); server B
    is a second process of the same deployment where the publisher works."""
    logs = tmp_path_factory.mktemp("logs")
    a_port, b_port = free_port(), free_port()
    env = server_env(database_url, a_port)
    a = Server(a_port, env, Path(logs / "a.log")).start()
    b = Server(b_port, env, Path(logs / "b.log")).start()
    yield a, b
    a.stop()
    b.stop()


def _new(sessions: sessionmaker[Session], server: Server, prefix: str) -> Instance:
    sub = f"{prefix}-{secrets.token_hex(3)}"
    with transaction(sessions) as s:
        token = create_instance(s, sub).admin_token
    return Instance(server, sub, token)


class World:
    """acme (client) with a shared list job and conditional job; leadco (publisher)."""

    def __init__(self, sessions: sessionmaker[Session], a: Server, b: Server) -> None:
        self.acme = _new(sessions, a, "acme")
        self.leadco = _new(sessions, b, "leadco")
        acme = self.acme
        self.campaign = acme.ok(
            "POST", "/campaigns", 201, json={"name": "Acme B2B", "fields": FIELDS}
        )
        self.pub = acme.ok("POST", "/publishers", 201, json={"name": "LeadCo"})
        self.key = acme.ok("POST", f"/publishers/{self.pub['id']}/api-keys", 201)
        acme.ok("PUT", f"/campaigns/{self.campaign['id']}/publishers/{self.pub['id']}", 204)
        self.list = acme.ok(
            "POST",
            "/lists",
            201,
            json={"name": "Target Accounts", "values": ["Acme Corp", "Globex"]},
        )
        self.list_job = acme.ok(
            "POST",
            f"/campaigns/{self.campaign['id']}/jobs",
            201,
            json={
                "type": "validation_list",
                "label": "Target accounts only",
                "visible_to_publishers": True,
                "config": {
                    "list_id": self.list["id"],
                    "field_name": "company",
                    "operator": "equal",
                    "rule": "pass",
                },
            },
        )
        self.cond_job = acme.ok(
            "POST",
            f"/campaigns/{self.campaign['id']}/jobs",
            201,
            json={
                "type": "simple_conditional_validation",
                "label": "North America",
                "visible_to_publishers": True,
                "config": {"field_name": "country", "operator": "EQUAL", "values": ["US", "CA"]},
            },
        )
        self.our_campaign = self.leadco.ok(
            "POST",
            "/campaigns",
            201,
            json={"name": "Outbound", "fields": [{"name": "companyName"}, {"name": "countryCode"}]},
        )

    def connect_config(self, job_id: int, field: str, **extra: Any) -> dict[str, Any]:
        return {
            "API_Key": self.key["key"],
            "Subdomain": self.acme.subdomain,
            "Campaign": self.campaign["id"],
            "Campaign_Processr_Job": job_id,
            "Field_name": field,
            **extra,
        }

    def add_connect(self, type_: str, job_id: int, field: str, **extra: Any) -> dict[str, Any]:
        job: dict[str, Any] = self.leadco.ok(
            "POST",
            f"/campaigns/{self.our_campaign['id']}/jobs",
            201,
            json={"type": type_, "config": self.connect_config(job_id, field, **extra)},
        )
        return job

    def sync_state(self, job: dict[str, Any]) -> dict[str, Any]:
        state: dict[str, Any] = self.leadco.ok(
            "GET", f"/campaigns/{self.our_campaign['id']}/jobs/{job['id']}/sync"
        )
        return state

    def lead(self, **data: Any) -> dict[str, Any]:
        lead: dict[str, Any] = self.leadco.ok(
            "POST", f"/campaigns/{self.our_campaign['id']}/leads", 201, json={"data": data}
        )
        return lead


@pytest.fixture
def world(deployment: tuple[Server, Server], sessions: sessionmaker[Session]) -> World:
    return World(sessions, *deployment)


def test_validation_list_mirror_story(world: World) -> None:
    w, leadco = world, world.leadco
    opts = "/job-types/connect_validation_list/options"
    base_cfg = {"API_Key": w.key["key"], "Subdomain": w.acme.subdomain}

    # 1. The progressive form: campaigns once key + subdomain work, then jobs, then our fields.
    campaigns = leadco.ok("POST", opts, json={"field": "Campaign", "config": base_cfg})["options"]
    assert campaigns == [{"value": w.campaign["id"], "label": "Acme B2B (active)"}]
    jobs = leadco.ok(
        "POST",
        opts,
        json={
            "field": "Campaign_Processr_Job",
            "config": {**base_cfg, "Campaign": w.campaign["id"]},
        },
    )["options"]
    assert [j["value"] for j in jobs] == [w.list_job["id"]]
    assert "company equal, 2 values" in jobs[0]["label"]
    ours = leadco.ok(
        "POST",
        opts,
        json={"field": "Field_name", "campaign_id": w.our_campaign["id"], "config": {}},
    )["options"]
    assert [o["value"] for o in ours] == ["companyName", "countryCode"]
    r = leadco.call(
        "POST",
        opts,
        json={"field": "Campaign", "config": {**base_cfg, "API_Key": "lgp_wrong_key_123"}},
    )
    assert r.status_code == 422 and r.json()["code"] == "connect_credentials_rejected"
    r = leadco.call(
        "POST", opts, json={"field": "Campaign", "config": {**base_cfg, "Subdomain": "evil.com/x"}}
    )
    assert r.status_code == 422 and r.json()["code"] == "invalid_subdomain"

    # 2. Saving fetches the definition and values, and subscribes to events.
    job = w.add_connect("connect_validation_list", w.list_job["id"], "companyName")
    assert job["config"]["API_Key"].startswith("••••••••") and w.key["key"] not in str(job)
    state = wait_for(lambda: (s := w.sync_state(job))["state"] == "ok" and s["events"] and s)
    assert (state["version"], state["list_version"], state["value_count"]) == (1, 1, 2)

    # 3. Leads are judged by the mirror exactly as the client would (case-insensitive, trim).
    good = w.lead(companyName="  acme corp ")
    assert good["status"] == "valid"
    assert good["jobs"][0]["mirror_version"] == 1
    bad = w.lead(companyName="Umbrella")
    assert bad["status"] == "invalid"
    (flag,) = bad["flags"]
    assert flag["code"] == "connect.criteria_not_met"
    assert f"Client rule of {w.acme.subdomain} (Target accounts only" in flag["message"]
    assert "does not equal any values on the validation list Target Accounts" in flag["message"]

    # 4. The client changes its list: the event makes the mirror pull the delta by itself.
    w.acme.ok("PATCH", f"/lists/{w.list['id']}/values", json={"add": ["Umbrella"]})
    wait_for(lambda: w.sync_state(job)["list_version"] == 2)
    assert w.lead(companyName="umbrella")["status"] == "valid"
    # ... and its rule: suppression instead of acceptance.
    w.acme.ok(
        "PATCH",
        f"/campaigns/{w.campaign['id']}/jobs/{w.list_job['id']}",
        json={
            "config": {
                "list_id": w.list["id"],
                "field_name": "company",
                "operator": "equal",
                "rule": "fail",
            }
        },
    )
    wait_for(lambda: w.sync_state(job)["version"] == 2)
    assert w.lead(companyName="umbrella")["status"] == "invalid"
    assert w.lead(companyName="Nobody Inc")["status"] == "valid"

    # Dropped events: end the subscription at the client; the poll still catches up.
    hooks = w.acme.call("GET", "/publisher/webhooks", secret=w.key["key"]).json()["items"]
    for hook in hooks:
        w.acme.call("DELETE", f"/publisher/webhooks/{hook['id']}", secret=w.key["key"])
    w.acme.ok("PATCH", f"/lists/{w.list['id']}/values", json={"add": ["Nobody Inc"]})
    wait_for(lambda: w.sync_state(job)["list_version"] == 3, timeout=30)
    assert w.lead(companyName="Nobody Inc")["status"] == "invalid"

    # 5. The client hides the job: gone; fails by default, passes when configured; recovers.
    w.acme.ok(
        "PATCH",
        f"/campaigns/{w.campaign['id']}/jobs/{w.list_job['id']}",
        json={"visible_to_publishers": False},
    )
    wait_for(lambda: w.sync_state(job)["state"] == "gone", timeout=30)
    lead = w.lead(companyName="Anything")
    assert lead["status"] == "invalid" and lead["flags"][0]["code"] == "connect.job_gone"
    leadco.ok(
        "PATCH",
        f"/campaigns/{w.our_campaign['id']}/jobs/{job['id']}",
        json={"config": {**job["config"], "Pass_if_job_is_gone": True}},
    )
    assert w.lead(companyName="Anything")["status"] == "valid"
    # A partial config merges (RFC 7396): the other keys, the masked key included, stay.
    url = f"/campaigns/{w.our_campaign['id']}/jobs/{job['id']}"
    flipped = leadco.ok("PATCH", url, json={"config": {"Pass_if_job_is_gone": False}})
    assert flipped["config"] == {**job["config"], "Pass_if_job_is_gone": False}
    assert w.lead(companyName="Anything")["status"] == "invalid"
    leadco.ok("PATCH", url, json={"config": {"Pass_if_job_is_gone": True}})
    assert w.lead(companyName="Anything")["status"] == "valid"
    w.acme.ok(
        "PATCH",
        f"/campaigns/{w.campaign['id']}/jobs/{w.list_job['id']}",
        json={"visible_to_publishers": True},
    )
    leadco.ok("POST", f"/campaigns/{w.our_campaign['id']}/jobs/{job['id']}/sync")
    wait_for(lambda: w.sync_state(job)["state"] == "ok")
    assert w.lead(companyName="Nobody Inc")["status"] == "invalid"

    # 6. Credentials revoked: unavailable, never gone; the last good mirror keeps judging.
    w.acme.ok("DELETE", f"/publishers/{w.pub['id']}/api-keys/{w.key['id']}", 204)
    state = leadco.ok("POST", f"/campaigns/{w.our_campaign['id']}/jobs/{job['id']}/sync")
    assert state["state"] == "unavailable" and "refused the API key" in state["last_error"]
    assert state["error_since"] is not None
    assert w.lead(companyName="Globex")["status"] == "invalid"  # suppression list still applies
    assert w.lead(companyName="Brand New")["status"] == "valid"


def test_simple_conditional_mirror_and_waiting_leads(world: World) -> None:
    w = world
    # Revoke the grant first: the job can't be mirrored, so leads wait instead of passing.
    w.acme.ok("DELETE", f"/campaigns/{w.campaign['id']}/publishers/{w.pub['id']}", 204)
    job = w.add_connect("connect_simple_conditional_validation", w.cond_job["id"], "countryCode")
    wait_for(lambda: w.sync_state(job)["state"] == "gone")
    w.acme.ok("PUT", f"/campaigns/{w.campaign['id']}/publishers/{w.pub['id']}", 204)
    # Events are not subscribed yet for a mirror that never synced: sync now.
    w.leadco.ok("POST", f"/campaigns/{w.our_campaign['id']}/jobs/{job['id']}/sync")
    wait_for(lambda: w.sync_state(job)["state"] == "ok")
    assert w.lead(countryCode="US")["status"] == "valid"
    bad = w.lead(countryCode="us")
    assert bad["status"] == "invalid"
    assert (
        "with the operator EQUAL was not found in the list of values" in bad["flags"][0]["message"]
    )
    w.acme.ok(
        "PATCH",
        f"/campaigns/{w.campaign['id']}/jobs/{w.cond_job['id']}",
        json={
            "config": {"field_name": "country", "operator": "EQUAL", "values": ["US", "CA", "us"]}
        },
    )
    wait_for(lambda: w.sync_state(job)["version"] == 2)
    assert w.lead(countryCode="us")["status"] == "valid"


def test_no_mirror_yet_leads_wait_then_are_judged(world: World) -> None:
    w = world
    w.acme.ok("POST", f"/publishers/{w.pub['id']}/api-keys", 201)  # unrelated key churn
    # A wrong key: the mirror cannot be made, leads must not pass silently.
    job = w.leadco.ok(
        "POST",
        f"/campaigns/{w.our_campaign['id']}/jobs",
        201,
        json={
            "type": "connect_validation_list",
            "config": {
                **w.connect_config(w.list_job["id"], "companyName"),
                "API_Key": "lgp_not_the_key",
            },
        },
    )
    wait_for(lambda: w.sync_state(job)["last_error"])
    assert w.sync_state(job)["state"] == "pending"
    waiting = w.lead(companyName="Acme Corp")
    assert waiting["status"] == "pending"
    assert waiting["history"][-1]["event"] == "waiting"
    # The right key arrives: the mirror syncs and the waiting lead is judged by itself.
    w.leadco.ok(
        "PATCH",
        f"/campaigns/{w.our_campaign['id']}/jobs/{job['id']}",
        json={"config": w.connect_config(w.list_job["id"], "companyName")},
    )
    wait_for(lambda: w.sync_state(job)["state"] == "ok")
    judged = wait_for(
        lambda: (x := w.leadco.ok("GET", f"/leads/{waiting['id']}"))["status"] != "pending" and x
    )
    assert judged["status"] == "valid"
    assert any(h["detail"].get("trigger") == "client mirror ready" for h in judged["history"])


def test_client_restart(world: World, deployment: tuple[Server, Server]) -> None:
    a, _ = deployment
    w = world
    job = w.add_connect("connect_validation_list", w.list_job["id"], "companyName")
    wait_for(lambda: w.sync_state(job)["state"] == "ok")
    a.stop(kill=True)  # the client's side crashes
    try:
        state = w.leadco.ok("POST", f"/campaigns/{w.our_campaign['id']}/jobs/{job['id']}/sync")
        assert state["state"] == "unavailable" and "could not be reached" in state["last_error"]
        assert w.lead(companyName="Globex")["status"] == "valid"  # last good mirror judges
        assert w.lead(companyName="Umbrella")["status"] == "invalid"
    finally:
        a.start()
    w.acme.ok("PATCH", f"/lists/{w.list['id']}/values", json={"add": ["Umbrella"]})
    wait_for(
        lambda: w.sync_state(job)["state"] == "ok" and w.sync_state(job)["list_version"] == 2,
        timeout=30,
    )
    assert w.lead(companyName="Umbrella")["status"] == "valid"
