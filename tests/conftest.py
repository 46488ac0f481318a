"""Test set-up: a real PostgreSQL for the run (the local server if one listens, else embedded)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from leadgate.app import create_app
from leadgate.config import Settings
from leadgate.db import embedded_url, make_engine, make_sessionmaker, migrate
from leadgate.kit import sealing
from leadgate.peer.client import routed_to
from tests.factories import Api, InstanceMaker

LOCAL_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"

# One deployment key for the run: the in-process app, the migrations and every server process
# this run starts (tests/servers.py passes it on) seal and open secrets with it.
os.environ.setdefault("LEADGATE_SECRET_KEY", sealing.new_key())


def _migrated(url: str) -> str:
    migrate(url)
    with make_engine(url).begin() as connection:
        sealing.check_key(connection)
    return url


def _local_server_listens() -> bool:
    try:
        with psycopg.connect(LOCAL_SERVER, connect_timeout=2):
            return True
    except psycopg.Error:
        return False


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh, migrated database for this test run."""
    if os.environ.get("LEADGATE_TEST_EMBEDDED") != "1" and _local_server_listens():
        name = f"leadgate_test_{os.getpid()}_{secrets.token_hex(3)}"
        with psycopg.connect(LOCAL_SERVER, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        url = _migrated(f"postgresql://postgres@127.0.0.1:5432/{name}")
        yield url
        make_engine(url).dispose()
        make_engine(url).dispose()
        with psycopg.connect(LOCAL_SERVER, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    else:
        url = _migrated(embedded_url(tmp_path_factory.mktemp("embedded")))
        yield url
        make_engine(url).dispose()


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    # Webhook receivers of the tests listen on loopback ports.
    return Settings(
        data_dir=Path(tmp_path_factory.mktemp("data")), webhook_allow=["http://127.0.0.1:"]
    )


@pytest.fixture(scope="session")
def app(settings: Settings, database_url: str) -> FastAPI:
    return create_app(settings, database_url)


@pytest.fixture(scope="session")
def sessions(database_url: str) -> sessionmaker[Session]:
    return make_sessionmaker(make_engine(database_url))


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


@pytest.fixture
def instances(client: TestClient, sessions: sessionmaker[Session]) -> InstanceMaker:
    """Makes fresh instances (unique subdomains) and API helpers for them."""
    return InstanceMaker(client, sessions)


@pytest.fixture
def acme(instances: InstanceMaker) -> Api:
    return instances.new("acme")


@pytest.fixture
def other(instances: InstanceMaker) -> Api:
    return instances.new("other")


class AppTransport(httpx.BaseTransport):
    """Peer calls answered by an app in this process, as they would be over HTTP."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.seen: list[tuple[str, str]] = []  # (method, path) of every call, in order

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append((request.method, request.url.path))
        answer = self.client.request(
            request.method, str(request.url), headers=request.headers, content=request.read()
        )
        # The body comes decoded: its encoding and length headers no longer describe it.
        headers = [
            (k, v)
            for k, v in answer.headers.multi_items()
            if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")
        ]
        return httpx.Response(answer.status_code, headers=headers, content=answer.content)


@pytest.fixture
def peers(app: FastAPI) -> Iterator[AppTransport]:
    """Calls to a client instance go into this app in process (the peer client's transport)."""
    client = TestClient(app, follow_redirects=False, raise_server_exceptions=False)
    transport = AppTransport(client)
    with client, routed_to(transport):
        yield transport
