"""lead_counts: the dashboards' rollup, kept by a trigger on leads, and backfilled

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 05:00:00

Every statement that inserts, updates or deletes leads appends, in its own transaction, one
row per changed (campaign, day, publisher, status, code) key to `lead_count_deltas`: statement
level triggers with transition tables, so a batch of 500 leads costs one INSERT, and no two
intake transactions ever update the same row (an append takes no row lock another waits on).
The worker folds the deltas into `lead_counts` every minute (`stats.service.compact`); readers
sum both. `lead_counts_backfill()` fills the rollup from the leads themselves: this migration
runs it for the leads there are, and benchmarks may call it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

# The keys a set of lead rows counts under, one row per lead and key with n = SIGN: the lead
# itself (code ''), each distinct flag code it carries, and '(none)' for an invalid or caution
# lead without any flag. `day` is the UTC date the lead came.
_KEYS = """
SELECT r.instance_id, r.campaign_id, (r.created_at AT TIME ZONE 'UTC')::date AS day,
       coalesce(r.publisher_id, 0) AS publisher_id, r.status, k.code, {sign}::bigint AS n
FROM {rows} r
CROSS JOIN LATERAL (
    SELECT ''::text AS code
    UNION ALL
    SELECT DISTINCT coalesce(f ->> 'code', '?')
    FROM jsonb_array_elements(
        CASE WHEN jsonb_typeof(r.flags) = 'array' THEN r.flags ELSE '[]'::jsonb END
    ) AS f
    UNION ALL
    SELECT '(none)'
    WHERE r.status IN ('invalid', 'caution') AND r.flags IN ('[]'::jsonb, 'null'::jsonb)
) k
"""

_INTO_DELTAS = """
INSERT INTO lead_count_deltas (instance_id, campaign_id, day, publisher_id, status, code, n)
SELECT instance_id, campaign_id, day, publisher_id, status, code, sum(n)
FROM ({keys}) d
GROUP BY instance_id, campaign_id, day, publisher_id, status, code
HAVING sum(n) <> 0;
"""

# An update counts only where what the rollup keys on moved (most updates of a lead touch
# neither its status nor its flags: judging stamps, history, values).
_MOVED = (
    "(SELECT o.* FROM old_rows o JOIN new_rows w ON w.id = o.id "
    "WHERE (o.status, o.flags, o.publisher_id, o.campaign_id, o.created_at) IS DISTINCT FROM "
    "(w.status, w.flags, w.publisher_id, w.campaign_id, w.created_at))"
)
_MOVED_NEW = (
    "(SELECT w.* FROM old_rows o JOIN new_rows w ON w.id = o.id "
    "WHERE (o.status, o.flags, o.publisher_id, o.campaign_id, o.created_at) IS DISTINCT FROM "
    "(w.status, w.flags, w.publisher_id, w.campaign_id, w.created_at))"
)

_ON_INSERT = _INTO_DELTAS.format(keys=_KEYS.format(rows="new_rows", sign=1))
_ON_DELETE = _INTO_DELTAS.format(keys=_KEYS.format(rows="old_rows", sign=-1))
_ON_UPDATE = _INTO_DELTAS.format(
    keys=_KEYS.format(rows=_MOVED, sign=-1) + " UNION ALL " + _KEYS.format(rows=_MOVED_NEW, sign=1)
)

TRACK = f"""
CREATE FUNCTION lead_counts_track() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {_ON_INSERT}
    ELSIF TG_OP = 'DELETE' THEN
        {_ON_DELETE}
    ELSE
        {_ON_UPDATE}
    END IF;
    RETURN NULL;
END
$$;
"""

BACKFILL = f"""
CREATE FUNCTION lead_counts_backfill() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    written bigint;
BEGIN
    LOCK TABLE leads IN SHARE MODE;  -- no write of leads between the count and the swap
    DELETE FROM lead_count_deltas;
    DELETE FROM lead_counts;
    INSERT INTO lead_counts (instance_id, campaign_id, day, publisher_id, status, code, n)
    SELECT instance_id, campaign_id, day, publisher_id, status, code, sum(n)
    FROM ({_KEYS.format(rows="leads", sign=1)}) d
    GROUP BY instance_id, campaign_id, day, publisher_id, status, code;
    GET DIAGNOSTICS written = ROW_COUNT;
    RETURN written;
END
$$;
"""

TRIGGERS = {
    "lead_counts_on_insert": "AFTER INSERT ON leads REFERENCING NEW TABLE AS new_rows",
    "lead_counts_on_update": (
        "AFTER UPDATE ON leads REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows"
    ),
    "lead_counts_on_delete": "AFTER DELETE ON leads REFERENCING OLD TABLE AS old_rows",
}


def upgrade() -> None:
    op.create_table(
        "lead_counts",
        sa.Column("instance_id", sa.BigInteger(), nullable=False),
        sa.Column("campaign_id", sa.BigInteger(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("publisher_id", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "instance_id",
            "campaign_id",
            "day",
            "publisher_id",
            "status",
            "code",
            name=op.f("pk_lead_counts"),
        ),
    )
    op.create_index("ix_lead_counts_instance_day", "lead_counts", ["instance_id", "day"])
    op.create_table(
        "lead_count_deltas",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("instance_id", sa.BigInteger(), nullable=False),
        sa.Column("campaign_id", sa.BigInteger(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("publisher_id", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lead_count_deltas")),
    )
    op.create_index(
        "ix_lead_count_deltas_campaign_day",
        "lead_count_deltas",
        ["instance_id", "campaign_id", "day"],
    )
    # The client's verdicts per day of delivery, read from the index alone.
    op.create_index(
        "ix_deliveries_job_delivered",
        "deliveries",
        ["job_id", "delivered_at"],
        postgresql_include=["client_status"],
    )
    op.execute(TRACK)
    op.execute(BACKFILL)
    for name, when in TRIGGERS.items():
        op.execute(
            f"CREATE TRIGGER {name} {when} FOR EACH STATEMENT EXECUTE FUNCTION lead_counts_track()"
        )
    op.execute("SELECT lead_counts_backfill()")


def downgrade() -> None:
    for name in TRIGGERS:
        op.execute(f"DROP TRIGGER {name} ON leads")
    op.execute("DROP FUNCTION lead_counts_backfill()")
    op.execute("DROP FUNCTION lead_counts_track()")
    op.drop_index("ix_deliveries_job_delivered", table_name="deliveries")
    op.drop_index("ix_lead_count_deltas_campaign_day", table_name="lead_count_deltas")
    op.drop_table("lead_count_deltas")
    op.drop_index("ix_lead_counts_instance_day", table_name="lead_counts")
    op.drop_table("lead_counts")
