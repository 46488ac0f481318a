"""Web UI pages with 100 000 leads in one campaign (issue 7: every page under 300 ms).

Seeds a fresh database (`bench_pages_*` on the local PostgreSQL) with one instance, one
campaign, a few Processr jobs and N leads with histories, signs a user in, and times each page
in-process (the real app through Starlette's TestClient: routing, auth, queries, templates).
The naive way is measured in the same run: OFFSET pagination and COUNT(*) per status, the
queries a leads page would send without keyset pagination.
"""

from __future__ import annotations

import argparse
import os
import platform
import secrets
import statistics
import time
import warnings
from datetime import UTC, datetime
from pathlib import Path

import psycopg

warnings.filterwarnings("ignore")

from fastapi.testclient import TestClient  # noqa: E402

from leadgate.app import create_app  # noqa: E402
from leadgate.config import Settings  # noqa: E402
from leadgate.db import make_engine, make_sessionmaker, migrate, transaction  # noqa: E402
from leadgate.instances.service import get_instance  # noqa: E402
from leadgate.kit.repository import TenantScope  # noqa: E402
from leadgate.users import service as users  # noqa: E402
from leadgate.users.deps import SESSION_COOKIE  # noqa: E402
from leadgate.users.service import create_instance  # noqa: E402

SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
TARGET_MS = 300.0


def seed(url: str, n: int) -> tuple[str, int, int]:
    """An instance with a campaign of n leads; returns (subdomain, campaign id, a lead id)."""
    sessions = make_sessionmaker(make_engine(url))
    with transaction(sessions) as s:
        create_instance(s, "bench")
        inst = get_instance(s, "bench")
        assert inst is not None
        scope = TenantScope(s, inst.id)
        from leadgate.campaigns import service as campaigns
        from leadgate.campaigns.schemas import CampaignCreate, FormField
        from leadgate.lists import service as lists
        from leadgate.processr import service as processr
        from leadgate.processr.schemas import JobCreate

        c = campaigns.create(
            scope,
            CampaignCreate(
                name="Big",
                fields=[
                    FormField(name="email"),
                    FormField(name="company"),
                    FormField(name="country"),
                ],
            ),
        )
        lst = lists.create(scope, "Targets", [f"Company {i}" for i in range(1000)])
        processr.create(
            scope,
            c.id,
            JobCreate(
                type="validation_list",
                config={
                    "list_id": lst.id,
                    "field_name": "company",
                    "operator": "equal",
                    "rule": "pass",
                },
            ),
        )
        processr.create(
            scope, c.id, JobCreate(type="required_fields", config={"fields": ["email"]})
        )
        campaign_id, instance_id = c.id, inst.id
    with psycopg.connect(url) as conn:
        conn.execute(
            """INSERT INTO leads (instance_id, campaign_id, data, status, score, max_score, flags,
                                  jobs, created_at, judged_at, updated_at)
               SELECT %s, %s,
                      jsonb_build_object('email', 'lead' || g || '@example.com',
                                         'company', 'Company ' || (g %% 2000), 'country', 'US'),
                      (ARRAY['valid','caution','invalid','pending'])[1 + g %% 4], 10, 20,
                      '[]'::jsonb, '[]'::jsonb,
                      now() - (%s - g) * interval '1 second', now(), now()
               FROM generate_series(1, %s) g""",
            (instance_id, campaign_id, n, n),
        )
        conn.execute(
            """INSERT INTO lead_history (lead_id, event, detail)
               SELECT id, 'received', '{}'::jsonb FROM leads WHERE campaign_id = %s""",
            (campaign_id,),
        )
        conn.execute("ANALYZE")
        lead_id = conn.execute("SELECT max(id) FROM leads").fetchone()[0]  # type: ignore[index]
    return "bench", campaign_id, int(lead_id)


def timed(client: TestClient, path: str, runs: int) -> tuple[float, float, int]:
    """Median and max ms of `runs` GETs after one warm-up, and the status."""
    r = client.get(path)
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        r = client.get(path)
        out.append((time.perf_counter() - t) * 1000)
    return statistics.median(out), max(out), r.status_code


def naive(url: str, campaign_id: int, n: int, runs: int) -> list[tuple[str, float]]:
    """The same page data the naive way: OFFSET to a deep page, COUNT(*) per status."""
    rows = []
    with psycopg.connect(url) as conn:
        for label, sql, args in (
            (
                "deep page by OFFSET (page 1 800 of 50)",
                "SELECT id, status, score FROM leads WHERE campaign_id = %s ORDER BY id DESC "
                "OFFSET %s LIMIT 50",
                (campaign_id, max(0, n - 10_000)),
            ),
            (
                "counts per status, one COUNT(*) each",
                "SELECT count(*) FROM leads WHERE campaign_id = %s AND status = ANY(%s)",
                (campaign_id, ["valid", "caution", "invalid", "pending"]),
            ),
        ):
            ts = []
            for _ in range(runs):
                t = time.perf_counter()
                if "ANY" in sql:
                    for status in args[1]:
                        conn.execute(
                            sql.replace("= ANY(%s)", "= %s"), (campaign_id, status)
                        ).fetchall()
                else:
                    conn.execute(sql, args).fetchall()
                ts.append((time.perf_counter() - t) * 1000)
            rows.append((label, statistics.median(ts)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--leads", type=int, default=100_000, help="leads in the campaign")
    parser.add_argument("--runs", type=int, default=7, help="timed GETs per page")
    parser.add_argument("--out", default="bench/results/pages.md")
    args = parser.parse_args()

    name = f"bench_pages_{secrets.token_hex(3)}"
    with psycopg.connect(SERVER, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql://postgres@127.0.0.1:5432/{name}"
    try:
        migrate(url)
        started = time.perf_counter()
        sub, campaign_id, lead_id = seed(url, args.leads)
        seeded = time.perf_counter() - started
        sessions = make_sessionmaker(make_engine(url))
        with transaction(sessions) as s:
            inst = get_instance(s, sub)
            assert inst is not None
            scope = TenantScope(s, inst.id)
            user = users.create_user(scope, "bench@example.com", "bench password 123", "admin")
            token = users.start_session(s, user)
        app = create_app(Settings(), url)
        with TestClient(app) as client:
            client.cookies.set(SESSION_COOKIE, token, path=f"/i/{sub}/")
            base = f"/i/{sub}/ui"
            first = client.get(f"{base}/leads?campaign_id={campaign_id}")
            import re

            cursor = re.search(r"cursor=([A-Za-z0-9_\-]+)", first.text)
            pages = [
                ("leads, all", f"{base}/leads"),
                ("leads, one campaign", f"{base}/leads?campaign_id={campaign_id}"),
                (
                    "leads, campaign + status",
                    f"{base}/leads?campaign_id={campaign_id}&status=invalid",
                ),
                (
                    "leads, next page",
                    f"{base}/leads?campaign_id={campaign_id}"
                    + (f"&cursor={cursor.group(1)}" if cursor else ""),
                ),
                ("one lead", f"{base}/leads/{lead_id}"),
                ("campaigns", f"{base}/campaigns"),
                ("campaign", f"{base}/campaigns/{campaign_id}"),
                ("processr", f"{base}/campaigns/{campaign_id}/processr"),
                ("lists", f"{base}/lists"),
                ("deliveries", f"{base}/deliveries"),
            ]
            results = [(label, *timed(client, path, args.runs)) for label, path in pages]
        naive_rows = naive(url, campaign_id, args.leads, args.runs)
    finally:
        make_engine(url).dispose()
        with psycopg.connect(SERVER, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    uname = " ".join(platform.uname())
    load = os.getloadavg()
    lines = [
        "## Web UI pages with many leads (`bench/bench_pages.py`)",
        "",
        f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- machine: `{uname}`; nproc {os.cpu_count()}; Python {platform.python_version()}; "
        "PostgreSQL on 127.0.0.1 (local server)",
        f"- load average at start of timing: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} "
        "(a shared 2-core VM: other work may have been running)",
        f"- command: `python bench/bench_pages.py --leads {args.leads} --runs {args.runs}`",
        f"- {args.leads:,} leads in one campaign (seeded in {seeded:.1f} s with one history row "
        "each); pages served in-process by the real app (TestClient), signed in as an admin; "
        f"median and max of {args.runs} GETs after a warm-up.",
        "",
        "| page | median ms | max ms | status | ≤ 300 ms |",
        "|---|---:|---:|---:|---|",
    ]
    for label, median, worst, status in results:
        ok = "yes" if worst <= TARGET_MS and status == 200 else "**no**"
        lines.append(f"| {label} | {median:.1f} | {worst:.1f} | {status} | {ok} |")
    lines += [
        "",
        "The naive way, same database (SQL only, no rendering):",
        "",
        "| query | median ms |",
        "|---|---:|",
    ]
    lines += [f"| {label} | {ms:.1f} |" for label, ms in naive_rows]
    text = "\n".join(lines) + "\n"
    print(text)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
