"""sealed secrets: the client API keys in job configs and the webhook secrets are sealed with
the deployment key; a canary row tells at start-up whether the key is the deployment's

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 02:20:00
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

from leadgate.kit import sealing

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# Config keys that held client API keys when this revision was written (the types' x-secret keys).
SECRET_CONFIG_KEYS = ("API_Key",)
COLUMNS = (
    ("webhook_subscriptions", "id", "secret"),
    ("connect_mirrors", "job_id", "webhook_secret"),
    ("delivery_connections", "job_id", "webhook_secret"),
)


def upgrade() -> None:
    op.create_table(
        "sealing_canary",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
        sa.CheckConstraint("id = 1", name="ck_sealing_canary_one_row"),
    )
    for table, _, column in COLUMNS:
        op.alter_column(table, column, type_=sa.Text(), existing_type=sa.String(length=100))
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, config FROM processr_jobs")).all()
    seal = sealing.sealer().seal
    for job_id, config in rows:
        if not isinstance(config, dict):
            continue
        changed = {
            k: seal(v)
            for k, v in config.items()
            if k in SECRET_CONFIG_KEYS and isinstance(v, str) and not sealing.is_sealed(v)
        }
        if changed:
            bind.execute(
                sa.text("UPDATE processr_jobs SET config = CAST(:c AS jsonb) WHERE id = :i"),
                {"c": json.dumps({**config, **changed}), "i": job_id},
            )
    for table, key, column in COLUMNS:
        found = bind.execute(
            sa.text(f"SELECT {key}, {column} FROM {table} WHERE {column} IS NOT NULL")
        ).all()
        for row_id, value in found:
            if not sealing.is_sealed(value):
                bind.execute(
                    sa.text(f"UPDATE {table} SET {column} = :v WHERE {key} = :i"),
                    {"v": seal(value), "i": row_id},
                )


def downgrade() -> None:
    bind = op.get_bind()
    unseal = sealing.sealer().open
    for table, key, column in COLUMNS:
        found = bind.execute(
            sa.text(f"SELECT {key}, {column} FROM {table} WHERE {column} IS NOT NULL")
        ).all()
        for row_id, value in found:
            bind.execute(
                sa.text(f"UPDATE {table} SET {column} = :v WHERE {key} = :i"),
                {"v": unseal(value), "i": row_id},
            )
    rows = bind.execute(sa.text("SELECT id, config FROM processr_jobs")).all()
    for job_id, config in rows:
        if isinstance(config, dict) and any(
            isinstance(v, str) and sealing.is_sealed(v) for v in config.values()
        ):
            opened = {
                k: unseal(v) if isinstance(v, str) and sealing.is_sealed(v) else v
                for k, v in config.items()
            }
            bind.execute(
                sa.text("UPDATE processr_jobs SET config = CAST(:c AS jsonb) WHERE id = :i"),
                {"c": json.dumps(opened), "i": job_id},
            )
    for table, _, column in COLUMNS:
        op.alter_column(table, column, type_=sa.String(length=100), existing_type=sa.Text())
    op.drop_table("sealing_canary")
