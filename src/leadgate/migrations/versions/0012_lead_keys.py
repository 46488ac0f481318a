"""lead_keys: the keys leads claim (a duplicate check's hashed, normalised values)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 02:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "lead_keys",
        sa.Column("lead_id", sa.BigInteger(), nullable=False),
        sa.Column("scope_ref", sa.Text(), nullable=False),
        sa.Column("hash", sa.LargeBinary(), nullable=False),
        sa.Column("instance_id", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["lead_id"],
            ["leads.id"],
            name=op.f("fk_lead_keys_lead_id_leads"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["instance_id"],
            ["instances.id"],
            name=op.f("fk_lead_keys_instance_id_instances"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("lead_id", "scope_ref", "hash", name=op.f("pk_lead_keys")),
    )
    op.create_index(
        "ix_lead_keys_probe",
        "lead_keys",
        ["instance_id", "scope_ref", "hash", "at", "lead_id"],
        postgresql_include=["state"],
    )


def downgrade() -> None:
    op.drop_index("ix_lead_keys_probe", table_name="lead_keys")
    op.drop_table("lead_keys")
