"""json_null: a nullable JSON column set to None holds SQL NULL, not the JSON value `null`

Until now the ORM wrote None as JSON `null`, so `IS NULL` missed it: a list whose value lengths
were unknown was measured again (a scan of every value) by every definition and values answer
instead of once. The models now write SQL NULL; this turns the stored JSON nulls into it.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02 10:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

COLUMNS = [
    ("validation_lists", "lengths"),
    ("connect_mirrors", "definition"),
    ("connect_mirrors", "encoding"),
    ("processr_jobs", "condition"),
]


def upgrade() -> None:
    for table, column in COLUMNS:
        op.execute(f"UPDATE {table} SET {column} = NULL WHERE {column} = 'null'::jsonb")


def downgrade() -> None:
    """Nothing to undo: SQL NULL reads back as None either way."""
