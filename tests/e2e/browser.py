"""What the browser tests share: Debian's chromium driven by Playwright, and signing in."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import ConsoleMessage, Page

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
