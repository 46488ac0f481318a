"""Small factories: instances, campaigns, publishers through the real API."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import httpx2 as httpx
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from leadgate.db import transaction
from leadgate.leads.intake import Submission
from leadgate.users.service import create_instance

FORM: list[dict[str, Any]] = [
    {"name": "firstName", "label": "First name", "required": True},
    {"name": "email", "type": "email", "required": True},
    {"name": "company"},
    {"name": "country", "type": "select", "options": ["US", "GB", "DE"]},
    {"name": "employees", "type": "number"},
]


@dataclass
class Api:
    """Calls one instance's API with one secret."""

    client: TestClient
    subdomain: str
    token: str
    instance_id: int

    @property
    def base(self) -> str:
        return f"/i/{self.subdomain}/api/v1"

    def call(
        self, method: str, path: str, *, secret: str | None = None, **kw: Any
    ) -> httpx.Response:
        headers = dict(kw.pop("headers", {}) or {})
        if secret is None:
            secret = self.token
        if secret:
            headers["Authorization"] = f"Bearer {secret}"
        return self.client.request(method, self.base + path, headers=headers, **kw)

    def ok(self, method: str, path: str, status: int = 200, **kw: Any) -> Any:
        """Call and assert the status; returns the JSON body (or None)."""
        r = self.call(method, path, **kw)
        assert r.status_code == status, f"{method} {path}: {r.status_code} {r.text}"
        return r.json() if r.content else None

    def campaign(
        self, name: str = "Campaign", fields: list[dict[str, Any]] | None = None
    ) -> dict[str, Any]:
        body = {"name": name, "fields": FORM if fields is None else fields}
        result: dict[str, Any] = self.ok("POST", "/campaigns", 201, json=body)
        return result

    def holding_campaign(
        self, name: str = "Campaign", fields: list[dict[str, Any]] | None = None
    ) -> dict[str, Any]:
        """A campaign whose leads stay pending, for a person: its one check sits in a group
        whose condition no lead meets (a campaign with no checks at all takes leads as valid)."""
        campaign = self.campaign(name, fields)
        field = campaign["fields"][0]["name"]
        self.ok(
            "POST",
            f"/campaigns/{campaign['id']}/jobs",
            201,
            json={
                "type": "required_fields",
                "config": {"fields": [field]},
                "group": "held",
                "condition": {"field": field, "values": ["no lead has this value"]},
            },
        )
        return campaign

    def publisher(self, name: str = "Pub") -> tuple[dict[str, Any], dict[str, Any]]:
        """A publisher and one API key of it."""
        pub = self.ok("POST", "/publishers", 201, json={"name": name})
        key = self.ok("POST", f"/publishers/{pub['id']}/api-keys", 201)
        return pub, key


class InstanceMaker:
    def __init__(self, client: TestClient, sessions: sessionmaker[Session]) -> None:
        self.client = client
        self.sessions = sessions

    def new(self, prefix: str = "t") -> Api:
        subdomain = f"{prefix}-{secrets.token_hex(4)}"
        with transaction(self.sessions) as session:
            created = create_instance(session, subdomain)
            from leadgate.instances.service import get_instance

            inst = get_instance(session, subdomain)
            assert inst is not None
            instance_id = inst.id
        return Api(self.client, subdomain, created.admin_token, instance_id)


CLIENT_FORM = [{"name": "company", "required": True}, {"name": "email"}]
OUR_FORM = [{"name": "companyName"}, {"name": "workEmail"}]
CONNECT_BODIES: list[dict[str, Any]] = [
    {"companyName": "Acme", "workEmail": "ann@acme.example"},
    {"companyName": " globex ", "workEmail": "bo@globex.example"},
    {"companyName": "Umbrella", "workEmail": "cy@umbrella.example"},
    {"workEmail": "di@nowhere.example"},
]


class Connected:
    """The client shares a list check with our key; our campaign mirrors it (a hard fail) and
    delivers its valid leads to the client. Needs the `peers` fixture (the client in process)."""

    def __init__(self, ours: Api, client: Api) -> None:
        self.ours, self.client = ours, client
        theirs = client.campaign("Acme B2B", CLIENT_FORM)
        pub, key = client.publisher("LeadCo")
        self.client_key: str = key["key"]
        client.ok("PUT", f"/campaigns/{theirs['id']}/publishers/{pub['id']}", 204)
        self.list = client.ok(
            "POST", "/lists", 201, json={"name": "Targets", "values": ["Acme", "Globex"]}
        )
        rule = {"list_id": self.list["id"], "field_name": "company", "operator": "equal"}
        check = client.ok(
            "POST",
            f"/campaigns/{theirs['id']}/jobs",
            201,
            json={
                "type": "validation_list",
                "visible_to_publishers": True,
                "config": {**rule, "rule": "pass"},
            },
        )
        self.cid = ours.campaign("Outbound", OUR_FORM)["id"]
        reach = {"API_Key": key["key"], "Subdomain": client.subdomain, "Campaign": theirs["id"]}
        self.mirror = ours.ok(
            "POST",
            f"/campaigns/{self.cid}/jobs",
            201,
            json={
                "type": "connect_validation_list",
                "hardfail": True,
                "config": {
                    **reach,
                    "Campaign_Processr_Job": check["id"],
                    "Field_name": "companyName",
                },
            },
        )
        mapping = {"company": "companyName", "email": "workEmail"}
        self.delivery = ours.ok(
            "POST",
            f"/campaigns/{self.cid}/jobs",
            201,
            json={"type": "connect_delivery", "config": {**reach, "Field_mapping": mapping}},
        )
        our_pub, our_key = ours.publisher("Affiliate")
        ours.ok("PUT", f"/campaigns/{self.cid}/publishers/{our_pub['id']}", 204)
        self.key: str = our_key["key"]
        self.sync()

    def sync(self) -> None:
        state = self.ours.ok("POST", f"/campaigns/{self.cid}/jobs/{self.mirror['id']}/sync")
        assert state["state"] == "ok", state

    def subs(self, bodies: list[dict[str, Any]]) -> list[Submission]:
        return [Submission(self.ours.subdomain, self.key, self.cid, b) for b in bodies]
