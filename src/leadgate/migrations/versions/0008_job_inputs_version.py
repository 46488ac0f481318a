"""processr_jobs.inputs_version (moves when what a job reads besides its config changes);
connect_mirrors.announced_*: the versions the client's last event announced

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 02:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "processr_jobs",
        sa.Column("inputs_version", sa.Integer(), server_default="0", nullable=False),
    )
    op.add_column("connect_mirrors", sa.Column("announced_version", sa.Integer()))
    op.add_column("connect_mirrors", sa.Column("announced_list_version", sa.Integer()))


def downgrade() -> None:
    op.drop_column("connect_mirrors", "announced_list_version")
    op.drop_column("connect_mirrors", "announced_version")
    op.drop_column("processr_jobs", "inputs_version")
