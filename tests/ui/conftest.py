"""Page tests: signed-in browsers (TestClient with cookies) on fresh instances."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx2 as httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from leadgate.db import transaction
from leadgate.kit.repository import TenantScope
from leadgate.users import service as users
from tests.factories import Api, InstanceMaker

PASSWORD = "correct horse battery"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Browser:
    """One person's browser on one instance's pages."""

    client: TestClient
    subdomain: str
    email: str
    csrf: str = ""

    @property
    def base(self) -> str:
        return f"/i/{self.subdomain}/ui"

    def get(self, path: str, **kw: Any) -> httpx.Response:
        """GET a page (path relative to the instance's UI), remembering its CSRF token."""
        r = self.client.get(self.base + path, **kw)
        found = CSRF.search(r.text)
        if found:
            self.csrf = found.group(1)
        return r

    def post(self, path: str, data: dict[str, Any] | None = None, **kw: Any) -> httpx.Response:
        """POST a form with the session's CSRF token (unless the data brings its own)."""
        body = {"csrf_token": self.csrf, **(data or {})}
        r = self.client.post(self.base + path, data=body, follow_redirects=False, **kw)
        found = CSRF.search(r.text)
        if found:
            self.csrf = found.group(1)
        return r

    def sign_in(self, password: str = PASSWORD) -> httpx.Response:
        """Sign in through the form (reads the sign-in form's own token first)."""
        self.get("/sign-in")
        r = self.post("/sign-in", {"email": self.email, "password": password})
        if r.status_code == 303:
            self.get("/")  # picks up the session's CSRF token
        return r


def add_user(
    sessions: sessionmaker[Session],
    instance_id: int,
    email: str,
    *,
    role: str = "admin",
    publisher_id: int | None = None,
) -> None:
    """A user with the test password (already chosen by them: no change required)."""
    with transaction(sessions) as session:
        users.create_user(
            TenantScope(session, instance_id),
            email,
            PASSWORD,
            role,  # type: ignore[arg-type]
            publisher_id=publisher_id,
        )


@pytest.fixture
def browsers(app: FastAPI) -> Iterator[list[TestClient]]:
    """Opened clients, closed at the end of the test."""
    opened: list[TestClient] = []
    yield opened
    for c in opened:
        c.close()


@dataclass
class Site:
    """An instance with its API helper and a way to open signed-in browsers on it."""

    api: Api
    app: FastAPI
    sessions: sessionmaker[Session]
    opened: list[TestClient]

    def browser(self, email: str | None = None, **user: Any) -> Browser:
        """A new browser signed in as a new user (an admin unless told otherwise)."""
        address = email or f"u{secrets.token_hex(3)}@example.com"
        add_user(self.sessions, self.api.instance_id, address, **user)
        b = self.anonymous(address)
        r = b.sign_in()
        assert r.status_code == 303, r.text
        return b

    def anonymous(self, email: str = "nobody@example.com") -> Browser:
        """A browser that has not signed in."""
        client = TestClient(self.app)
        client.__enter__()
        self.opened.append(client)
        return Browser(client, self.api.subdomain, email)


@pytest.fixture
def site(
    instances: InstanceMaker,
    app: FastAPI,
    sessions: sessionmaker[Session],
    browsers: list[TestClient],
) -> Site:
    return Site(instances.new("ui"), app, sessions, browsers)


@pytest.fixture
def other_site(
    instances: InstanceMaker,
    app: FastAPI,
    sessions: sessionmaker[Session],
    browsers: list[TestClient],
) -> Site:
    return Site(instances.new("uib"), app, sessions, browsers)
