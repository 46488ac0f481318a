"""The mirrors' poll ticks every POLL_TICK_S seconds for minutes while leads pour in, and keeps
ticking after the task worker lost its database connections (the in-process worker of `serve`
is started again): the poll stall once seen in a benchmark cannot come back unnoticed."""

from __future__ import annotations

import itertools
import secrets
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psycopg
import pytest
from sqlalchemy import make_url, text
from sqlalchemy.orm import Session, sessionmaker

from leadgate.db import libpq_url, make_engine, make_sessionmaker, migrate, transaction
from leadgate.mirror.tasks import POLL_TICK_S, poll
from leadgate.users.service import create_instance
from leadgate.worker.runner import APPLICATION_NAME
from tests.e2e.test_connect_mirror import Instance
from tests.servers import Server, free_port, server_env, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

WINDOW_S = 150.0  # "several minutes" of ticks, with the worker's connections cut halfway
LATE_S = 4 * POLL_TICK_S  # a tick may wait for a busy worker this long, no longer


@pytest.fixture
def own_database(database_url: str) -> Iterator[str]:
    """A database of this test's own: the work other tests left in the shared one (their
    mirrors, deliveries, queued jobs) is not what the poll is measured against here."""
    name = f"leadgate_poll_{secrets.token_hex(4)}"
    with psycopg.connect(libpq_url(database_url), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = make_url(database_url).set(database=name).render_as_string(hide_password=False)
    try:
        migrate(url)
        yield url
    finally:
        make_engine(url).dispose()
        with psycopg.connect(libpq_url(database_url), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def sessions(own_database: str) -> sessionmaker[Session]:
    return make_sessionmaker(make_engine(own_database))


@pytest.fixture
def server(own_database: str, tmp_path: Path) -> Iterator[Server]:
    port = free_port()
    env = server_env(own_database, port, LEADGATE_RATE_LIMIT_REQUESTS="100000000")
    srv = Server(port, env, tmp_path / "server.log").start()
    try:
        yield srv
    finally:
        srv.stop()


def _load(server: Server, sessions: sessionmaker[Session], stop: threading.Event) -> list[int]:
    """Leads posted through the Publisher API over 8 connections until `stop`; their codes."""
    sub = f"poll-{secrets.token_hex(3)}"
    with transaction(sessions) as s:
        token = create_instance(s, sub).admin_token
    us = Instance(server, sub, token)
    fields = [{"name": "email"}, {"name": "company"}]
    cid = us.ok("POST", "/campaigns", 201, json={"name": "Load", "fields": fields})["id"]
    pub = us.ok("POST", "/publishers", 201, json={"name": "Load"})
    key = us.ok("POST", f"/publishers/{pub['id']}/api-keys", 201)["key"]
    us.ok("PUT", f"/campaigns/{cid}/publishers/{pub['id']}", 204)
    us.ok(
        "POST",
        f"/campaigns/{cid}/jobs",
        201,
        json={"type": "required_fields", "config": {"fields": ["email"]}},
    )
    url = f"{server.url}/i/{sub}/api/v1/publisher/campaigns/{cid}/leads"
    codes: list[int] = []

    def post_until_stopped(n: int) -> None:
        with httpx.Client(headers={"Authorization": f"Bearer {key}"}, timeout=30) as c:
            i = 0
            while not stop.is_set():
                i += 1
                body = {"data": {"email": f"l{n}-{i}@load.example", "company": "Acme"}}
                codes.append(c.post(url, json=body).status_code)

    pool = ThreadPoolExecutor(8)
    for n in range(8):
        pool.submit(post_until_stopped, n)
    pool.shutdown(wait=False)
    return codes


def _polls(sessions: sessionmaker[Session], since: int) -> list[tuple[int, float]]:
    """(tick timestamp, seconds from the tick until its job started) of the poll jobs that
    started for ticks at or after `since`."""
    with sessions() as s:
        rows = s.execute(
            text(
                "SELECT (j.args->>'timestamp')::bigint AS tick, min(e.at) AS started "
                "FROM procrastinate_jobs j JOIN procrastinate_events e ON e.job_id = j.id "
                "WHERE j.task_name = :task AND e.type = 'started' "
                "AND (j.args->>'timestamp')::bigint >= :since GROUP BY 1 ORDER BY 1"
            ),
            {"task": poll.name, "since": since},
        ).all()
    return [(int(tick), started.timestamp() - tick) for tick, started in rows]


def _cut_worker_connections(sessions: sessionmaker[Session]) -> int:
    with sessions() as s:
        cut = s.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND application_name = :name"
            ),
            {"name": APPLICATION_NAME},
        ).scalar_one()
    return int(cut)


def test_the_poll_ticks_under_load_and_after_the_worker_lost_its_database(
    server: Server, sessions: sessionmaker[Session]
) -> None:
    stop = threading.Event()
    codes = _load(server, sessions, stop)
    start = int(time.time()) + POLL_TICK_S
    try:
        wait_for(lambda: len(codes) > 100, timeout=30, what="leads flowing")
        halfway = time.monotonic() + WINDOW_S / 2
        wait_for(lambda: time.monotonic() > halfway, timeout=WINDOW_S, interval=1, what="half")
        assert _cut_worker_connections(sessions) > 0
        end = start + int(WINDOW_S)
        wait_for(lambda: time.time() > end + LATE_S, timeout=WINDOW_S, interval=1, what="end")
    finally:
        stop.set()
    polls = [(tick, late) for tick, late in _polls(sessions, start) if tick <= end]
    ticks = [tick for tick, _ in polls]
    pairs = list(itertools.pairwise(ticks))
    assert ticks and ticks[0] - start <= 2 * POLL_TICK_S, ticks[:3]
    assert end - ticks[-1] <= 2 * POLL_TICK_S, ticks[-3:]
    # A tick is skipped only while the previous poll still waits (its queueing lock): never
    # more than one in a row, and every poll starts soon after its tick.
    assert all(b - a <= 2 * POLL_TICK_S for a, b in pairs), [p for p in pairs if p[1] - p[0] > 4]
    assert max(late for _, late in polls) <= LATE_S, [p for p in polls if p[1] > LATE_S]
    assert len(codes) > 1000 and set(codes) == {201}, set(codes)
