"""The README's examples, run as a new user would: a fresh `make run` (the demo on an embedded
PostgreSQL in a new folder, no DATABASE_URL, no key), then every shell block of README.md in
order in one bash, `leadgate` put on PATH by the README's own `. .venv/bin/activate`. Each
answer is compared by shape with the output the README shows (tests/readme_blocks.py says how,
and how a block is kept from running: ```` ```console no-run ````).

A broken example fails with the README line of its command.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.readme_blocks import run, shell_blocks
from tests.servers import Server, free_port, wait_for

README = Path(__file__).parents[2] / "README.md"


def _user_env(port: int) -> dict[str, str]:
    """A new user's shell: no leadgate settings, no venv on PATH (the README activates it)."""
    venv_bin = str(Path(sys.executable).parent)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("LEADGATE_")
        and k not in ("DATABASE_URL", "PROMETHEUS_MULTIPROC_DIR", "VIRTUAL_ENV")
    }
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p != venv_bin)
    # `make run` serves on :8000; here a free port, which the demo's printed URLs follow.
    env["LEADGATE_INSTANCE_URL"] = f"http://127.0.0.1:{port}/i/{{subdomain}}"
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _demo_summary(log: Path) -> dict[str, Any] | None:
    """The JSON `serve --demo` printed once the demo was ready (None before)."""
    text = log.read_text(errors="replace")
    marker = text.find("demo data ready")
    start = text.find("{", marker) if marker >= 0 else -1
    if start < 0:
        return None
    try:
        found, _ = json.JSONDecoder().raw_decode(text[start:])
    except ValueError:
        return None
    return found if isinstance(found, dict) else None


def _settled(leadco: dict[str, Any]) -> bool:
    """leadco's sample leads judged and the valid ones delivered ("a few seconds later")."""
    headers = {"Authorization": f"Bearer {leadco['admin_token']}"}
    api = leadco["url"] + "/api/v1"
    leads = httpx.get(f"{api}/leads", headers=headers).json()["items"]
    deliveries = httpx.get(f"{api}/deliveries", headers=headers).json()["items"]
    return (
        len(leads) == 3
        and all(lead["status"] != "pending" for lead in leads)
        and len(deliveries) == sum(lead["status"] == "valid" for lead in leads)
        and all(d["state"] == "delivered" for d in deliveries)
    )


@pytest.fixture(scope="module")
def fresh_make_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Path]]:
    """`leadgate serve --demo` as `make run` starts it, in a new folder with the checkout's
    venv at `.venv` (so the README's `. .venv/bin/activate` works there)."""
    if shutil.which("jq") is None:
        pytest.fail("jq is needed by the README's examples: apt-get install jq")
    home = tmp_path_factory.mktemp("new-user")
    (home / ".venv").symlink_to(sys.prefix)
    port = free_port()
    server = Server(port, _user_env(port), home / "make-run.log", ("--demo",), cwd=home)
    server.start(timeout=240)  # a first start creates the embedded PostgreSQL cluster
    try:
        demo = wait_for(
            lambda: _demo_summary(server.log), timeout=180, interval=0.5, what="demo data ready"
        )
        wait_for(lambda: _settled(demo["leadco"]), timeout=120, interval=0.5, what="demo leads")
        yield server, home
    finally:
        server.stop()


def test_the_readme_examples_work_as_written(fresh_make_run: tuple[Server, Path]) -> None:
    server, home = fresh_make_run
    blocks = shell_blocks(README.read_text())
    running = [c for b in blocks if b.runs for c in b.commands]
    skipped = [b.line for b in blocks if not b.runs]
    assert len(running) >= 20, "the README's examples are not found: is the runner broken?"
    assert len(skipped) <= 8, f"keep the no-run blocks few (README.md lines {skipped})"

    problems = run(blocks, home, _user_env(server.port), server.url, timeout=600)

    assert not problems, "\n\n".join(problems)
