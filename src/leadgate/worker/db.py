"""The database of the running worker: tasks open their own unit of work from here."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session, sessionmaker

from leadgate.db import make_engine, make_sessionmaker, transaction

_sessions: sessionmaker[Session] | None = None


def configure(database_url: str) -> None:
    """Point task code at this database (done by the worker runner on start)."""
    global _sessions
    _sessions = make_sessionmaker(make_engine(database_url))


@contextmanager
def unit_of_work() -> Iterator[Session]:
    """A transaction for one task run: committed when the task returns, else rolled back."""
    if _sessions is None:
        raise RuntimeError("the worker database is not configured; call configure(url) first")
    with transaction(_sessions) as session:
        yield session
