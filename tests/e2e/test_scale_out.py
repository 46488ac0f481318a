"""Scale-out (issue 16): two API processes (`serve --no-worker`, each on its own port) and two
`leadgate worker`s on one PostgreSQL, behind Debian's HAProxy (round robin, health checks on
`/readyz`). 2,000 leads with Idempotency-Keys go in through HAProxy while one API process is
killed (`kill -9`) and started again, and one worker is killed: every lead is stored exactly once
(the clients send a lead again, same key, when its connection fails or the answer is a 5xx),
and every valid lead reaches the client exactly once."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from leadgate.db import transaction
from leadgate.users.service import create_instance
from tests.e2e.test_connect_mirror import Instance
from tests.servers import Server, Worker, free_port, server_env, wait_for

pytestmark = pytest.mark.e2e

LEADS = 2000
HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"

CONFIG = """
global
    maxconn 1000
defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    retries 2
    option redispatch
frontend leadgate
    bind 127.0.0.1:{port}
    default_backend api
backend api
    balance roundrobin
    option httpchk GET /readyz
    default-server inter 300ms fall 2 rise 2
    server api1 127.0.0.1:{a} check
    server api2 127.0.0.1:{b} check
"""


class Deployment:
    """HAProxy in front of two API processes; two task workers."""

    def __init__(self, database_url: str, logs: Path) -> None:
        self.port, a, b = free_port(), free_port(), free_port()
        # Every instance URL (the peers' calls included) goes through HAProxy.
        env = server_env(
            database_url,
            self.port,
            LEADGATE_RATE_LIMIT_REQUESTS="100000",
            LEADGATE_STALLED_AFTER_S="4",
            LEADGATE_WORKER_HEARTBEAT_S="1",
            LEADGATE_DELIVERY_RETRY_BASE_S="0.3",
            LEADGATE_DELIVERY_RETRY_CAP_S="2",
            LEADGATE_DELIVERY_MAX_ATTEMPTS="40",
            LEADGATE_CIRCUIT_THRESHOLD="1000",
        )
        self.apis = [
            Server(port, env, logs / f"api{n}.log", args=("--no-worker",))
            for n, port in ((1, a), (2, b))
        ]
        self.workers = [Worker(env, logs / f"worker{n}.log") for n in (1, 2)]
        config = logs / "haproxy.cfg"
        config.write_text(CONFIG.format(port=self.port, a=a, b=b))
        self.haproxy_log = logs / "haproxy.log"
        self.haproxy: subprocess.Popen[bytes] | None = None
        self.config = config

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Deployment:
        for api in self.apis:
            api.start()
        for worker in self.workers:
            worker.start()
        with self.haproxy_log.open("ab") as out:
            self.haproxy = subprocess.Popen(
                [HAPROXY, "-db", "-f", str(self.config)], stdout=out, stderr=subprocess.STDOUT
            )
        wait_for(self._ready, timeout=30, what="HAProxy answering /readyz")
        return self

    def _ready(self) -> bool:
        try:
            return httpx.get(self.url + "/readyz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        if self.haproxy is not None:
            self.haproxy.terminate()
            self.haproxy.wait(timeout=10)
        for worker in self.workers:
            worker.stop()
        for api in self.apis:
            api.stop()


@pytest.fixture
def deployment(database_url: str, tmp_path: Path) -> Iterator[Deployment]:
    if not Path(HAPROXY).exists():
        pytest.fail("HAProxy is not installed (.ci/run installs Debian's haproxy)")
    d = Deployment(database_url, tmp_path).start()
    try:
        yield d
    finally:
        d.stop()


def _instance(sessions: sessionmaker[Session], d: Deployment, prefix: str) -> Instance:
    sub = f"{prefix}-{secrets.token_hex(3)}"
    with transaction(sessions) as s:
        token = create_instance(s, sub).admin_token
    # The instance is reached through HAProxy: a Server handle of its port (not started here).
    return Instance(Server(d.port, {}, Path(os.devnull)), sub, token)


def _send_until_answered(client: httpx.Client, url: str, key: str, data: dict[str, Any]) -> int:
    """Post a lead until it has an answer that is not a failure of the way there: the same
    Idempotency-Key each time, so a lead stored before its connection broke is not stored
    twice. Returns the final status (201, or 200 for a lead stored by an earlier try)."""
    deadline = time.monotonic() + 60
    while True:
        try:
            r = client.post(url, json={"data": data}, headers={"Idempotency-Key": key})
            if r.status_code < 500:
                return r.status_code
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"lead {key} got no answer within 60 s")
        time.sleep(0.05)


def test_two_api_processes_and_two_workers_behind_haproxy_lose_and_double_nothing(
    deployment: Deployment, sessions: sessionmaker[Session]
) -> None:
    d = deployment
    acme, leadco = _instance(sessions, d, "acme"), _instance(sessions, d, "leadco")
    form = [{"name": "company", "required": True}, {"name": "email", "required": True}]
    theirs = acme.ok("POST", "/campaigns", 201, json={"name": "Inbound", "fields": form})
    pub = acme.ok("POST", "/publishers", 201, json={"name": "LeadCo"})
    client_key = acme.ok("POST", f"/publishers/{pub['id']}/api-keys", 201)["key"]
    acme.ok("PUT", f"/campaigns/{theirs['id']}/publishers/{pub['id']}", 204)
    ours = leadco.ok("POST", "/campaigns", 201, json={"name": "Outbound", "fields": form})
    delivery = leadco.ok(
        "POST",
        f"/campaigns/{ours['id']}/jobs",
        201,
        json={
            "type": "connect_delivery",
            "config": {
                "API_Key": client_key,
                "Subdomain": acme.subdomain,
                "Campaign": theirs["id"],
                "Field_mapping": {"company": "company", "email": "email"},
            },
        },
    )
    supplier = leadco.ok("POST", "/publishers", 201, json={"name": "Supplier"})
    key = leadco.ok("POST", f"/publishers/{supplier['id']}/api-keys", 201)["key"]
    leadco.ok("PUT", f"/campaigns/{ours['id']}/publishers/{supplier['id']}", 204)
    url = f"{d.url}/i/{leadco.subdomain}/api/v1/publisher/campaigns/{ours['id']}/leads"

    sent = 0
    lock = threading.Lock()
    codes: list[int] = []

    def push(n: int) -> None:
        nonlocal sent
        with httpx.Client(headers={"Authorization": f"Bearer {key}"}, timeout=30) as c:
            for i in range(n, LEADS, 16):
                data = {"company": f"Co {i}", "email": f"l{i}@co.example"}
                code = _send_until_answered(c, url, f"lead-{i}", data)
                with lock:
                    codes.append(code)
                    sent += 1

    with ThreadPoolExecutor(16) as pool:
        futures = [pool.submit(push, n) for n in range(16)]
        wait_for(lambda: sent >= 400, timeout=120, what="400 leads in")
        d.apis[0].stop(kill=True)  # kill -9 one API process; HAProxy sends the rest to the other
        wait_for(lambda: sent >= 900, timeout=120, what="900 leads in")
        d.apis[0].start()
        d.workers[0].stop(kill=True)  # and one worker: the other carries on
        for f in futures:
            f.result()
    assert len(codes) == LEADS and set(codes) <= {200, 201}, set(codes)

    with sessions() as s:
        stored = s.execute(
            text(
                "SELECT count(*), count(DISTINCT idempotency_key) FROM leads WHERE campaign_id = :c"
            ),
            {"c": ours["id"]},
        ).one()
    assert tuple(stored) == (LEADS, LEADS)  # every lead once

    def delivered() -> int:
        with sessions() as s:
            return int(
                s.execute(
                    text(
                        "SELECT count(*) FROM deliveries WHERE job_id = :j AND state = 'delivered'"
                    ),
                    {"j": delivery["id"]},
                ).scalar_one()
            )

    wait_for(lambda: delivered() == LEADS, timeout=240, interval=1, what="every lead delivered")
    with sessions() as s:
        at_client = s.execute(
            text(
                "SELECT count(*), count(DISTINCT idempotency_key) FROM leads WHERE campaign_id = :c"
            ),
            {"c": theirs["id"]},
        ).one()
        ids = s.execute(
            text("SELECT count(DISTINCT client_lead_id) FROM deliveries WHERE job_id = :j"),
            {"j": delivery["id"]},
        ).scalar_one()
    assert tuple(at_client) == (LEADS, LEADS) and ids == LEADS  # every delivery once
