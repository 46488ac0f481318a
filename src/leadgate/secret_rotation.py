"""Re-sealing every stored secret under the deployment's newest key (`leadgate secrets rotate`).

With `LEADGATE_SECRET_KEY=new,old` every secret opens with either key; rotation loads each row
that holds one (its columns open it with whichever key sealed it) and writes it back, which
seals it under the first key. Afterwards the old key can be dropped from the setting. One
transaction: a rotation that fails half-way changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from leadgate.delivery import repository as deliveries
from leadgate.kit import sealing
from leadgate.lists import repository as lists
from leadgate.mirror import repository as mirrors
from leadgate.processr import repository as processr
from leadgate.processr.registry import REGISTRY
from leadgate.webhooks import repository as webhooks


def _rows(session: Session) -> Iterator[tuple[Any, str]]:
    """(row, attribute) of every stored secret."""
    types = [t.type for t in REGISTRY.all_types() if t.secret_keys]
    for job in processr.jobs_of_types_any_instance(session, types):
        yield job, "config"
    for sub in webhooks.subscriptions_any_instance(session):
        yield sub, "secret"
    for mirror in mirrors.subscribed_any_instance(session):
        yield mirror, "webhook_secret"
    for conn in deliveries.subscribed_any_instance(session):
        yield conn, "webhook_secret"
    for listing in lists.keyed_any_instance(session):
        yield listing, "hash_key"
    for mirror in mirrors.hashed_any_instance(session):
        yield mirror, "hash_key"


def rotate(session: Session, progress: Callable[[int, int], None] | None = None) -> int:
    """Re-seal every secret (the caller commits); returns how many rows were written."""
    rows = list(_rows(session))
    for done, (row, attribute) in enumerate(rows, start=1):
        setattr(row, attribute, getattr(row, attribute))
        flag_modified(row, attribute)
        if progress is not None:
            progress(done, len(rows))
    session.flush()
    session.execute(
        text("UPDATE sealing_canary SET value = :v WHERE id = 1"),
        {"v": sealing.sealer().seal(sealing.CANARY)},
    )
    return len(rows)
