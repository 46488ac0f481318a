"""private lists: a list's values leave the instance only as keyed hashes

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 05:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "validation_lists",
        sa.Column("private", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    # The HMAC key of a private list (sealed, like every secret we read back) and its id.
    op.add_column("validation_lists", sa.Column("hash_key", sa.Text(), nullable=True))
    op.add_column("validation_lists", sa.Column("key_id", sa.String(length=32), nullable=True))
    # The shortest and longest value, as stored and casefolded (None: not known since the
    # last big change).
    op.add_column(
        "validation_lists",
        sa.Column("lengths", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    )
    # A mirror of a private list holds hashes: how they were made, and the key (sealed).
    op.add_column(
        "connect_mirrors",
        sa.Column("encoding", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    )
    op.add_column("connect_mirrors", sa.Column("hash_key", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("connect_mirrors", "hash_key")
    op.drop_column("connect_mirrors", "encoding")
    for column in ("lengths", "key_id", "hash_key", "private"):
        op.drop_column("validation_lists", column)
