"""reason_categories: the reasons a person picks when marking leads by hand (review queue);
an index of the verdicts people gave (the export's reason column)

Every instance starts with one category, `None`: the existing ones get it here, new ones from
a trigger on `instances`, whichever way they are created.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 05:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reason_categories",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column(
            "instance_id",
            sa.BigInteger(),
            sa.ForeignKey("instances.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.UniqueConstraint("instance_id", "name", name="uq_reason_categories_name"),
    )
    op.create_index("ix_reason_categories_instance_id", "reason_categories", ["instance_id"])
    # The verdicts people gave, for the export's `reason` column (one small probe per lead).
    op.create_index(
        "ix_lead_history_verdicts",
        "lead_history",
        ["lead_id", "id"],
        postgresql_where=sa.text("event = 'status_changed' AND (detail ->> 'by') = 'user'"),
    )
    op.execute("INSERT INTO reason_categories (instance_id, name) SELECT id, 'None' FROM instances")
    op.execute(
        """
        CREATE FUNCTION reason_categories_first() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO reason_categories (instance_id, name) VALUES (NEW.id, 'None');
            RETURN NEW;
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER instances_reason_categories AFTER INSERT ON instances "
        "FOR EACH ROW EXECUTE FUNCTION reason_categories_first()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS instances_reason_categories ON instances")
    op.execute("DROP FUNCTION IF EXISTS reason_categories_first()")
    op.drop_table("reason_categories")
    op.drop_index("ix_lead_history_verdicts", table_name="lead_history")
