"""Fixtures of the browser tests (the modules skip themselves without chromium); every test
under tests/e2e/ is marked `e2e`: they start real `leadgate serve` processes (or a live server)."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, sync_playwright

from leadgate.app import create_app
from leadgate.config import Settings
from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS
from tests.servers import free_port

HERE = Path(__file__).parent


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # A conftest's hook sees the items of the whole session: mark only those under this folder.
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's chromium, headless, through Playwright (no browser download)."""
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    """Where screenshots go: $LEADGATE_SCREENSHOTS (docs/screenshots for the README), else tmp."""
    folder = Path(os.environ.get("LEADGATE_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def live_url(settings: Settings, database_url: str) -> Iterator[str]:
    """leadgate's app served by uvicorn on a free loopback port, in a background thread."""
    port = free_port()
    config = uvicorn.Config(
        create_app(settings, database_url), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=15)
