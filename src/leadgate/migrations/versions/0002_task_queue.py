"""procrastinate's task queue schema (jobs, events, periodic defers, worker heartbeats)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27

procrastinate ships its schema as SQL; later procrastinate upgrades bring their own SQL
migrations, which get an Alembic revision of ours each, applied the same way.
"""

from __future__ import annotations

from alembic import op
from procrastinate.schema import SchemaManager

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(SchemaManager.get_schema())


def downgrade() -> None:
    op.execute(
        "DROP TABLE IF EXISTS procrastinate_events, procrastinate_periodic_defers, "
        "procrastinate_jobs, procrastinate_workers CASCADE"
    )
