"""The campaign dashboard over a million leads, and what the rollup costs the intake.

    python bench/bench_dashboard.py [--leads 1000000] [--days 30] [--publishers 10]
                                    [--runs 7] [--intake 2000] [--values 100000]

One instance built by bench_leads.py (`build_world`: the 10-job campaign, a publisher key, a
validation list of `--values` companies). Then:

1. `--leads` leads over the last `--days` days are seeded into the 10-job campaign by
   `INSERT ... SELECT generate_series` in chunks of 100,000 (statuses ~60 % valid, 10 %
   caution, 25 % invalid, 5 % pending; invalid and caution leads with one or two flag codes;
   `--publishers` publishers), with the rollup's trigger on: the seed fills the rollup exactly
   as the intake does (one delta row per key and statement), then one compaction folds them.
2. The campaign dashboard, timed in-process (the real app through Starlette's TestClient:
   routing, session, queries, template, pygal): the page for the last `--days` days, each of
   its chart SVGs, one CSV, and `GET /api/v1/stats` for the same days; median and max of
   `--runs` after one warm-up. Once with the rollup compacted, once with the deltas the intake
   measurement left (not compacted: what a reader sees between two compactions).
3. `EXPLAIN (ANALYZE, BUFFERS)` of every SQL statement one `stats` call sends.
4. The intake drivers of bench_leads.py (`breakdown`: the general `LeadIntake.run` and
   `intake_fast`, batches of 1, 4, 16, 64, `--intake` leads each) with the rollup's triggers on,
   then off (`ALTER TABLE leads DISABLE TRIGGER ...`), in the same run and database.

Writes bench/results/dashboard.md. Targets (issue 14): the dashboard ≤ 300 ms server time,
the intake ≥ 1,000 leads/s with the rollup on.
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

import common

warnings.filterwarnings("ignore")

TARGET_MS = 300.0
TARGET_RATE = 1000.0
CHUNK = 100_000
TRIGGERS = ("lead_counts_on_insert", "lead_counts_on_update", "lead_counts_on_delete")
CODES = [
    "validation_list.no_match",
    "validation_list.match",
    "simple_conditional.failed",
    "required_fields.missing",
    "conditional.failed",
    "email_format.invalid",
    "duplicate.found",
]

# Publishers, days, statuses and flag codes drawn independently (random(), seeded per chunk).
SEED = """
INSERT INTO leads (instance_id, campaign_id, publisher_id, data, status, score, max_score,
                   flags, jobs, created_at, judged_at, updated_at)
SELECT %(instance)s, %(campaign)s, (%(publishers)s::bigint[])[1 + floor(r.p * %(n_pub)s)::int],
       jsonb_build_object('company', 'Company ' || (g %% 5000), 'email', 'l' || g || '@x.example'),
       s.status, 80, 100,
       CASE WHEN s.status IN ('invalid', 'caution') THEN
           jsonb_build_array(jsonb_build_object(
               'job_id', 1, 'job_type', 'x', 'message', 'seeded',
               'code', (%(codes)s::text[])[1 + floor(r.c1 * %(n_codes)s)::int]))
           || CASE WHEN r.c2 < 0.3 THEN jsonb_build_array(jsonb_build_object(
               'job_id', 2, 'job_type', 'y', 'message', 'seeded',
               'code', (%(codes)s::text[])[1 + floor(r.c2 / 0.3 * %(n_codes)s)::int]))
              ELSE '[]'::jsonb END
       ELSE '[]'::jsonb END,
       '[]'::jsonb,
       now() - r.d * make_interval(days => %(days)s::int),
       now(), now()
FROM generate_series(%(first)s::bigint, %(last)s::bigint) g
CROSS JOIN LATERAL (
    SELECT random() + g * 0 AS p, random() + g * 0 AS s, random() + g * 0 AS c1,
           random() + g * 0 AS c2, random() + g * 0 AS d
) r
CROSS JOIN LATERAL (SELECT CASE
    WHEN r.s < 0.60 THEN 'valid' WHEN r.s < 0.70 THEN 'caution'
    WHEN r.s < 0.95 THEN 'invalid' ELSE 'pending' END AS status) s
"""


def seed(url: str, world: Any, leads: int, days: int, publishers: int) -> dict[str, float]:
    """The leads, in chunks, with the trigger on; then one compaction. Seconds of each."""
    from leadgate.db import make_engine, make_sessionmaker, transaction
    from leadgate.stats import service

    with psycopg.connect(url) as conn:
        ids = [world.publisher_id]
        for i in range(publishers - 1):
            row = conn.execute(
                "INSERT INTO publishers (instance_id, name) VALUES (%s, %s) RETURNING id",
                (world.instance_id, f"Publisher {i + 2}"),
            ).fetchone()
            assert row is not None
            ids.append(int(row[0]))
        conn.commit()
        started = time.perf_counter()
        for first in range(1, leads + 1, CHUNK):
            conn.execute("SELECT setseed(%s)", (first / (leads + 1),))
            conn.execute(
                SEED,
                {
                    "instance": world.instance_id,
                    "campaign": world.campaign_id,
                    "publishers": ids,
                    "n_pub": len(ids),
                    "codes": CODES,
                    "n_codes": len(CODES),
                    "days": days,
                    "first": first,
                    "last": min(leads, first + CHUNK - 1),
                },
            )
            conn.commit()
        seeded = time.perf_counter() - started
        deltas = conn.execute("SELECT count(*) FROM lead_count_deltas").fetchone()
    sessions = make_sessionmaker(make_engine(url))
    started = time.perf_counter()
    with transaction(sessions) as session:
        keys = service.compact(session)
    compacted = time.perf_counter() - started
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE leads")
        conn.execute("VACUUM ANALYZE lead_counts")
        conn.execute("VACUUM ANALYZE lead_count_deltas")
        counts = conn.execute("SELECT count(*) FROM lead_counts").fetchone()
    return {
        "seed_s": seeded,
        "deltas": float(deltas[0] if deltas else 0),
        "compact_s": compacted,
        "keys": float(keys),
        "rows": float(counts[0] if counts else 0),
    }


def timed(client: Any, path: str, runs: int, **kw: Any) -> tuple[float, float, int, int]:
    """Median and max ms of `runs` GETs after one warm-up, the status and the body size."""
    r = client.get(path, **kw)
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        r = client.get(path, **kw)
        out.append((time.perf_counter() - t) * 1000)
    return statistics.median(out), max(out), r.status_code, len(r.content)


def dashboard_times(url: str, world: Any, days: int, runs: int) -> list[list[Any]]:
    """Each request of the campaign dashboard, timed in-process."""
    from fastapi.testclient import TestClient

    from leadgate.app import create_app
    from leadgate.config import Settings
    from leadgate.db import make_engine, make_sessionmaker, transaction
    from leadgate.kit.repository import TenantScope
    from leadgate.users import service as users
    from leadgate.users.deps import SESSION_COOKIE

    sessions = make_sessionmaker(make_engine(url))
    with transaction(sessions) as s:
        scope = TenantScope(s, world.instance_id)
        email = f"dash{time.time_ns()}@example.com"
        user = users.create_user(scope, email, "bench password 123", "admin")
        token = users.start_session(s, user)
    period = {"30": "30d", "7": "7d", "1": "today"}.get(str(days), "")
    today = datetime.now(UTC).date()
    first = (today - timedelta(days=days - 1)).isoformat()
    query = f"period={period}" if period else f"period=custom&from={first}&to={today}"
    base = f"/i/{world.sub}/ui"
    cid = world.campaign_id
    charts = f"{base}/dashboard/charts"
    pages = [
        ("campaign dashboard page", f"{base}/campaigns/{cid}/dashboard?{query}", {}),
        *(
            (
                f"chart {name}.svg",
                f"{charts}/{name}.svg?campaign_id={cid}&{query}",
                {},
            )
            for name in ("leads-per-day", "acceptance-per-publisher", "rejection-reasons")
        ),
        (
            "chart leads-per-day.csv",
            f"{charts}/leads-per-day.csv?campaign_id={cid}&{query}",
            {},
        ),
        (
            "GET /api/v1/stats",
            f"/i/{world.sub}/api/v1/stats?campaign_id={cid}&from={first}&to={today}",
            {"headers": {"Authorization": f"Bearer {world.token}"}},
        ),
    ]
    rows = []
    with TestClient(create_app(Settings(), url)) as client:
        client.cookies.set(SESSION_COOKIE, token, path=f"/i/{world.sub}/")
        for label, path, kw in pages:
            median, worst, status, size = timed(client, path, runs, **kw)
            rows.append([label, status, f"{size:,} B", f"{median:.1f}", f"{worst:.1f}"])
    return rows


def explain(url: str, world: Any, days: int) -> str:
    """EXPLAIN (ANALYZE, BUFFERS) of each statement one `stats` call sends."""
    from sqlalchemy import event

    from leadgate import plugins
    from leadgate.db import make_engine, make_sessionmaker, transaction
    from leadgate.kit.repository import TenantScope
    from leadgate.stats import service

    plugins.load()
    engine = make_engine(url)
    sent: list[tuple[str, Any]] = []

    def seen(_c: Any, _cur: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            sent.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", seen)
    try:
        with transaction(make_sessionmaker(engine)) as s:
            scope = TenantScope(s, world.instance_id)
            period = service.last_days(days)
            service.stats(scope, period, campaign_id=world.campaign_id)  # warm: connection
            sent.clear()
            started = time.perf_counter()
            service.stats(scope, period, campaign_id=world.campaign_id)
            took = (time.perf_counter() - started) * 1000
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    out = [
        f"`stats.service.stats` of the campaign, last {days} days: {took:.1f} ms in-process, "
        f"{len(sent)} SELECT statements:",
        "",
    ]
    with psycopg.connect(url) as conn:
        for statement, parameters in sent:
            plan = conn.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters).fetchall()
            out += ["```", statement.strip(), "", *(str(r[0]) for r in plan), "```", ""]
    return "\n".join(out)


def set_triggers(url: str, on: bool) -> None:
    """The rollup's triggers on or off (off: the intake as it was before the rollup)."""
    with psycopg.connect(url, autocommit=True) as conn:
        for name in TRIGGERS:
            conn.execute(f"ALTER TABLE leads {'ENABLE' if on else 'DISABLE'} TRIGGER {name}")


def rates(markdown: str) -> dict[tuple[str, str], str]:
    """(driver, batch size) -> leads/s, read from a `breakdown` table."""
    found = {}
    for line in markdown.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 9 and cells[1].isdigit():
            driver = "general" if cells[0].startswith("general") else cells[0].split(":")[0]
            found[(driver, cells[1])] = cells[8]
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--publishers", type=int, default=10)
    parser.add_argument("--runs", type=int, default=7, help="timed GETs per request")
    parser.add_argument("--intake", type=int, default=2000, help="leads per driver and size")
    parser.add_argument("--values", type=int, default=100_000, help="size of the big list")
    args = parser.parse_args()

    import bench_leads

    m = common.machine()
    with common.bench_database("dashboard") as url:
        world = bench_leads.build_world(url, args.values)
        seeded = seed(url, world, args.leads, args.days, args.publishers)
        compacted = dashboard_times(url, world, args.days, args.runs)
        plans = explain(url, world, args.days)
        set_triggers(url, True)
        with_rollup = bench_leads.breakdown(world, args.intake)
        with psycopg.connect(url) as conn:
            pending = conn.execute("SELECT count(*) FROM lead_count_deltas").fetchone()
        with_deltas = dashboard_times(url, world, args.days, args.runs)
        set_triggers(url, False)
        without = bench_leads.breakdown(world, args.intake)
        set_triggers(url, True)
        with psycopg.connect(url) as conn:  # the leads written meanwhile count again
            conn.execute("SELECT lead_counts_backfill()")
            conn.commit()

    page_ms = max(float(r[3]) for r in compacted + with_deltas)
    on, off = rates(with_rollup), rates(without)
    headline = on.get(("fast", "64"), "?")
    rate_ok = headline != "?" and float(headline.replace(",", "")) >= TARGET_RATE
    comparison = [
        [driver, size, on[(driver, size)], off.get((driver, size), "?")] for driver, size in on
    ]
    headers = ["request", "status", "size", "median ms", "max ms"]
    lines = [
        "# Dashboard over a million leads, and the rollup's cost to the intake (issue 14)",
        "",
        *common.header_lines(common.command_line(), m),
        "",
        "## Result",
        "",
        f"- campaign dashboard, {args.leads:,} leads over {args.days} days: slowest request "
        f"median {page_ms:.1f} ms (target ≤ {TARGET_MS:.0f} ms) "
        f"{common.verdict(page_ms <= TARGET_MS)}",
        f"- intake with the rollup on, fast driver, 64 leads per batch: {headline} leads/s "
        f"(target ≥ {TARGET_RATE:,.0f}) {common.verdict(rate_ok)}; off: "
        f"{off.get(('fast', '64'), '?')} leads/s",
        "",
        "## Seed",
        "",
        f"{args.leads:,} leads in chunks of {CHUNK:,} with the trigger on: "
        f"{seeded['seed_s']:.1f} s ({seeded['deltas']:,.0f} delta rows); one compaction "
        f"{seeded['compact_s']:.2f} s → {seeded['rows']:,.0f} rows in `lead_counts` "
        f"({args.publishers} publishers, {args.days} days, statuses and flag codes).",
        "",
        "## The dashboard (in-process, the real app)",
        "",
        "Rollup compacted:",
        "",
        common.table(headers, compacted, "llrrr"),
        "",
        f"With the {pending[0] if pending else '?'} delta rows the intake measurement below left "
        "(not compacted yet):",
        "",
        common.table(headers, with_deltas, "llrrr"),
        "",
        "## EXPLAIN (ANALYZE, BUFFERS)",
        "",
        plans,
        "## The intake, rollup on vs off (same run, same database)",
        "",
        common.table(
            ["driver", "leads per batch", "leads/s, rollup on", "leads/s, rollup off"],
            comparison,
            "lrrr",
        ),
        "",
        "### Rollup on",
        "",
        with_rollup,
        "",
        "### Rollup off (triggers disabled)",
        "",
        without,
    ]
    common.write_result("dashboard", "\n".join(lines))


if __name__ == "__main__":
    main()
