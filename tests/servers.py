"""Real `leadgate serve` processes on loopback for end-to-end tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Child:
    """A child process of the test; `stop(kill=True)` is a crash (SIGKILL)."""

    proc: subprocess.Popen[bytes] | None

    def stop(self, kill: bool = False) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class Server(_Child):
    """One `leadgate serve` process."""

    def __init__(
        self,
        port: int,
        env: dict[str, str],
        log: Path,
        args: tuple[str, ...] = (),
        cwd: Path | None = None,
    ) -> None:
        self.port = port
        self.env = env
        self.log = log
        self.args = args  # more `serve` options, e.g. ("--no-worker",)
        self.cwd = cwd  # where it runs (its ./.leadgate, without DATABASE_URL)
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> Server:
        with self.log.open("ab") as out:  # the child keeps its own copy of the descriptor
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "leadgate", "serve", "--port", str(self.port), *self.args],
                env=self.env,
                cwd=self.cwd,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()[-3000:]}")
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server did not start: {self.log.read_text()[-3000:]}")


class Worker(_Child):
    """One `leadgate worker` process."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = env
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Worker:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "leadgate", "worker"],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        return self


def server_env(database_url: str, template_port: int, **extra: str) -> dict[str, str]:
    """The environment of a server of the test deployment."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("LEADGATE_") and k != "PROMETHEUS_MULTIPROC_DIR"
    }
    env.update(
        LEADGATE_SECRET_KEY=os.environ["LEADGATE_SECRET_KEY"],  # the run's (tests/conftest.py)
        PYTHONUNBUFFERED="1",  # a killed server's last log lines are the interesting ones
        DATABASE_URL=database_url,
        LEADGATE_INSTANCE_URL=f"http://127.0.0.1:{template_port}/i/{{subdomain}}",
        LEADGATE_SYNC_POLL_INTERVAL_S="2",
        LEADGATE_WEBHOOK_RETRY_BASE_S="0.5",
        LEADGATE_OUTBOUND_TIMEOUT_S="3",
    )
    env.update(extra)
    return env


def wait_for(
    predicate: Callable[[], Any],
    timeout: float = 20.0,
    interval: float = 0.1,
    *,
    what: str = "condition",
) -> Any:
    """Poll `predicate` until it returns something truthy; returns that, or fails at the deadline.

    The way to wait in these tests: never sleep and then assert, wait for the state to be reached.
    `what` names the condition in the failure message.
    """
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"{what} not met within {timeout}s; last value: {last!r}")
