"""Alembic environment: one advisory lock so concurrent start-ups migrate once."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, text

import leadgate.models  # noqa: F401  (registers every table on Base.metadata)
from leadgate.db import Base

MIGRATION_LOCK = 724_310_001


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """procrastinate's tables are its own (created from its SQL), not our models'."""
    return not (type_ == "table" and name is not None and name.startswith("procrastinate"))


url: str = context.config.attributes["url"]
engine = create_engine(url)
with engine.connect() as connection:
    connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": MIGRATION_LOCK})
    connection.commit()
    try:
        context.configure(
            connection=connection, target_metadata=Base.metadata, include_name=include_name
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()
    finally:
        connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": MIGRATION_LOCK})
        connection.commit()
engine.dispose()
