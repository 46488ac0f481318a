"""Deleting a Connect job while its first sync runs: one lock order (the job row, then the
mirror's), so the two never deadlock (issue 16: 9 of 40 tries answered 500 DeadlockDetected on
connect_mirrors). Run many times with real threads against the app."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack

import httpx2 as httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from leadgate.db import transaction
from leadgate.errors import NotFound
from leadgate.mirror import sync as syncing
from leadgate.mirror.models import ConnectMirror
from leadgate.processr.models import ProcessrJob
from tests.conftest import AppTransport
from tests.factories import Api, Connected

TRIES = 40


@pytest.fixture
def clients(app: FastAPI) -> Iterator[Callable[[], TestClient]]:
    """Fresh clients that answer a server error as a 500 (not an exception in the test)."""
    with ExitStack() as stack:

        def make() -> TestClient:
            return stack.enter_context(TestClient(app, raise_server_exceptions=False))

        yield make


def _race(*calls: Callable[[], httpx.Response]) -> list[httpx.Response]:
    """Run the calls at the same moment in their own threads; their answers, in order."""
    start = threading.Barrier(len(calls))
    answers: list[httpx.Response | None] = [None] * len(calls)

    def run(index: int) -> None:
        start.wait()
        answers[index] = calls[index]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert all(a is not None for a in answers), "a call did not come back"
    return [a for a in answers if a is not None]


def test_deleting_a_job_during_its_first_sync_never_deadlocks(
    acme: Api,
    other: Api,
    peers: AppTransport,
    clients: Callable[[], TestClient],
    sessions: sessionmaker[Session],
) -> None:
    w = Connected(acme, other)
    config = {**w.mirror["config"], "API_Key": w.client_key}
    deleter, syncer = clients(), clients()
    auth = {"Authorization": f"Bearer {acme.token}"}
    outcomes: dict[tuple[int, int], int] = {}
    for _ in range(TRIES):
        job = acme.ok(
            "POST",
            f"/campaigns/{w.cid}/jobs",
            201,
            json={"type": "connect_validation_list", "config": config},
        )
        path = f"{acme.base}/campaigns/{w.cid}/jobs/{job['id']}"
        deleted, synced = _race(
            lambda path=path: deleter.delete(path, headers=auth),
            lambda path=path: syncer.post(path + "/sync", headers=auth),
        )
        assert deleted.status_code == 204, deleted.text
        assert synced.status_code in (200, 404), synced.text
        if synced.status_code == 404:
            assert synced.json()["code"] == "job_not_found"
        key = (deleted.status_code, synced.status_code)
        outcomes[key] = outcomes.get(key, 0) + 1
        with sessions() as s:
            assert s.get(ConnectMirror, job["id"]) is None  # gone with its job
    assert sum(outcomes.values()) == TRIES


def test_a_sync_that_waited_for_a_delete_finds_the_job_gone(
    acme: Api, other: Api, peers: AppTransport, app: FastAPI, sessions: sessionmaker[Session]
) -> None:
    """A sync that loaded its job just before the job was deleted stops with job_not_found
    (the sync task answers "job gone") instead of writing a mirror for a job that is not."""
    w = Connected(acme, other)
    config = {**w.mirror["config"], "API_Key": w.client_key}
    job = acme.ok(
        "POST",
        f"/campaigns/{w.cid}/jobs",
        201,
        json={"type": "connect_validation_list", "config": config},
    )
    with transaction(sessions) as s:
        loaded = s.get(ProcessrJob, job["id"])
        assert loaded is not None
        acme.ok("DELETE", f"/campaigns/{w.cid}/jobs/{job['id']}", 204)
        with pytest.raises(NotFound) as refused:
            syncing.sync(s, loaded, app.state.settings)
        assert refused.value.code == "job_not_found"
        assert s.get(ConnectMirror, job["id"]) is None
