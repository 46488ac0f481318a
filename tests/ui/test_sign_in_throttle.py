"""The sign-in throttle (issue 16): after 10 failed sign-ins of an account (or 30 from one client
address) within 15 minutes, sign-in answers 429 with Retry-After and a plain message, whatever
the password; a success resets the account's count; nothing locks for good. Counted in the
database, so two server processes enforce one limit."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from leadgate.db import transaction
from leadgate.users.models import SignInFailure
from tests.servers import Server, free_port, server_env
from tests.ui.conftest import PASSWORD, Browser, Site, add_user


def _from(site: Site, address: str, email: str) -> Browser:
    """A browser that has not signed in, connecting from `address`."""
    client = TestClient(site.app, client=(address, 50000))
    client.__enter__()
    site.opened.append(client)
    return Browser(client, site.api.subdomain, email)


def test_ten_failures_throttle_the_account_until_the_window_passes(
    site: Site, sessions: sessionmaker[Session]
) -> None:
    email = f"kim{secrets.token_hex(2)}@example.com"
    add_user(sessions, site.api.instance_id, email)
    b = _from(site, "192.0.2.10", email)
    for _ in range(10):
        assert b.sign_in("wrong password").status_code == 401
    for password in ("wrong password", PASSWORD):  # the right password waits all the same
        r = b.sign_in(password)
        assert r.status_code == 429, r.text[:300]
        assert 890 <= int(r.headers["retry-after"]) <= 900
        assert "Too many failed sign-ins. Please wait 15 minutes and try again." in r.text
    # Not for good: once the failures are older than the window, the account opens again.
    with transaction(sessions) as s:
        s.execute(
            update(SignInFailure)
            .where(SignInFailure.account == f"{site.api.subdomain}:{email}")
            .values(at=SignInFailure.at - timedelta(seconds=901))
        )
    assert b.sign_in(PASSWORD).status_code == 303


def test_a_success_resets_the_count_and_addresses_are_counted_too(
    site: Site, sessions: sessionmaker[Session]
) -> None:
    email = f"ann{secrets.token_hex(2)}@example.com"
    add_user(sessions, site.api.instance_id, email)
    b = _from(site, "192.0.2.20", email)
    for _ in range(9):
        assert b.sign_in("wrong").status_code == 401
    assert b.sign_in(PASSWORD).status_code == 303
    b = _from(site, "192.0.2.20", email)
    for _ in range(9):  # counted from zero again
        assert b.sign_in("wrong").status_code == 401
    assert b.sign_in(PASSWORD).status_code == 303

    # One address trying many accounts: 30 failures, then that address waits (others do not).
    # (The failures above were the account's own: its success cleared them.)
    for n in range(30):
        assert _from(site, "192.0.2.20", f"x{n}@example.com").sign_in("w").status_code == 401
    r = _from(site, "192.0.2.20", email).sign_in(PASSWORD)
    assert r.status_code == 429 and "Retry-After" in r.headers
    assert _from(site, "192.0.2.21", email).sign_in(PASSWORD).status_code == 303


@pytest.fixture
def two_servers(database_url: str, tmp_path: Path) -> Iterator[tuple[Server, Server]]:
    """Two API processes of one deployment on one database, each on its own port."""
    a_port, b_port = free_port(), free_port()
    env = server_env(database_url, a_port, LEADGATE_SIGN_IN_MAX_FAILURES="5")
    a = Server(a_port, env, tmp_path / "a.log").start()
    b = Server(b_port, env, tmp_path / "b.log").start()
    try:
        yield a, b
    finally:
        a.stop()
        b.stop()


def _sign_in(server: Server, subdomain: str, email: str, password: str) -> httpx.Response:
    base = f"{server.url}/i/{subdomain}/ui"
    with httpx.Client() as c:
        page = c.get(f"{base}/sign-in")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token, page.text[:300]
        form = {"email": email, "password": password, "csrf_token": token.group(1)}
        return c.post(f"{base}/sign-in", data=form)


@pytest.mark.e2e
def test_the_throttle_holds_across_two_processes(
    two_servers: tuple[Server, Server], site: Site, sessions: sessionmaker[Session]
) -> None:
    email = f"lee{secrets.token_hex(2)}@example.com"
    add_user(sessions, site.api.instance_id, email)
    a, b = two_servers
    codes = [
        _sign_in((a, b)[n % 2], site.api.subdomain, email, "wrong").status_code for n in range(9)
    ]
    assert codes == [401] * 5 + [429] * 4, codes  # 5 per account here, whichever process
    assert _sign_in(b, site.api.subdomain, email, PASSWORD).status_code == 429
