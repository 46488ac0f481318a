"""What the browser tests share: Debian's chromium driven by Playwright, and signing in."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from playwright.sync_api import ConsoleMessage, Page
from sqlalchemy.orm import Session, sessionmaker

from leadgate.db import transaction
from leadgate.instances.service import get_instance
from leadgate.kit.repository import TenantScope
from leadgate.users import service as users
from leadgate.users.service import create_instance

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def require_chromium(reason: str) -> None:
    """Skip the calling test module, loudly, where Debian's chromium is not installed."""
    if not Path(CHROMIUM).exists():
        pytest.skip(reason, allow_module_level=True)


def sign_in(page: Page, base: str, email: str, password: str) -> None:
    """Fill and send the sign-in form of the UI at `base` (an instance's URL, up to /i/<sub>)."""
    page.goto(f"{base}/ui/sign-in")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def blocked_by_policy(page: Page) -> list[str]:
    """The Content-Security-Policy violations the page reports from now on (chromium logs each
    one to the console): the pages' policy must never block what they need."""
    blocked: list[str] = []

    def seen(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            blocked.append(message.text)

    page.on("console", seen)
    return blocked


def admin_instance(
    sessions: sessionmaker[Session], live_url: str, sub: str, email: str, password: str
) -> tuple[str, httpx.Client]:
    """A new instance `sub` with an admin who signs in with `email` and `password`: its base
    URL and an API client with its admin token."""
    with transaction(sessions) as session:
        created = create_instance(session, sub, "Acme Corp")
        instance = get_instance(session, sub)
        assert instance is not None
        users.create_user(TenantScope(session, instance.id), email, password, "admin")
    base = f"{live_url}/i/{sub}"
    api = httpx.Client(
        base_url=f"{base}/api/v1",
        headers={"Authorization": f"Bearer {created.admin_token}"},
        timeout=30,
    )
    return base, api
