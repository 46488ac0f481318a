"""The lead export and the bulk status change (issue 14), each beside the naive way.

    python bench/bench_review_export.py [--leads 1000000] [--bulk 10000] [--naive-bulk 10000]

Export: a campaign of `--leads` leads (7 form fields, a third invalid with a flag, every tenth
with a person's verdict in its history) is seeded set-based (INSERT ... SELECT generate_series).
Against a fresh server process per measurement (uvicorn running bench/serve_app.py: the real app,
as `leadgate serve --no-worker`), `GET /i/{sub}/api/v1/leads/export?campaign_id=` is fetched over
a raw socket on loopback (no gzip): rows/s from the first request byte to the last answer byte,
and the server's peak resident memory (sampled every 10 ms) above its resident memory before the
request. The naive way, every lead loaded through the ORM and the whole CSV written in memory
before it is sent (serve_app.py's `naive-export`), is measured the same way in the same run.
Targets: >= 50,000 rows/s and a peak of <= +50 MB at 1,000,000 leads.

Bulk status: `--bulk` caution leads of a publisher with a webhook subscription; in-process,
`review.service.bulk_status` marks them all invalid with a reason in one transaction (committed;
one history entry and one `lead.status_changed` message + task per lead, checked afterwards).
The naive way marks `--naive-bulk` other leads one by one with `leads.service.set_status` (which
emits the event per lead) in one transaction. Target: 10,000 leads in <= 10 s.
Writes bench/results/review-export.md.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import psycopg

import common
from bench_snapshot import measure as snapshot_measure

ROWS_TARGET = 50_000
PEAK_TARGET_MB = 50.0
BULK_TARGET_S = 10.0
FIELDS = ["firstName", "lastName", "email", "company", "phone", "country", "jobTitle"]


def seed(
    url: str, instance_id: int, campaign_id: int, publisher_id: int, n: int, status: str | None
) -> None:
    """`n` leads of the campaign, set-based: statuses cycle (or all `status`), a third flagged,
    one `received` history entry each and a person's verdict on every tenth."""
    flag = (
        '[{"job_id": 1, "job_type": "required_fields", "code": "required_fields.missing", '
        '"message": "The required field phone is missing or empty"}]'
    )
    with psycopg.connect(url) as conn:
        first = conn.execute("SELECT coalesce(max(id), 0) FROM leads").fetchone()[0]  # type: ignore[index]
        conn.execute(
            """INSERT INTO leads (instance_id, campaign_id, publisher_id, data, status, score,
                                  max_score, flags, jobs, created_at, judged_at, updated_at)
               SELECT %(i)s, %(c)s, %(p)s,
                      jsonb_build_object('firstName', 'Kim' || g, 'lastName', 'Lee, Jr.',
                          'email', 'lead' || g || '@example.com',
                          'company', 'Company ' || (g %% 2000),
                          'phone', '+1 555 ' || g, 'country', 'US', 'jobTitle', 'Head of "Ops"'),
                      coalesce(%(s)s, (ARRAY['valid', 'caution', 'invalid'])[1 + g %% 3]),
                      CASE WHEN g %% 3 = 2 THEN 0 ELSE 10 END, 10,
                      CASE WHEN g %% 3 = 2 THEN %(flag)s::jsonb ELSE '[]'::jsonb END,
                      '[]'::jsonb, now() - (%(n)s - g) * interval '1 second', now(), now()
               FROM generate_series(1, %(n)s) g""",
            {
                "i": instance_id,
                "c": campaign_id,
                "p": publisher_id,
                "n": n,
                "s": status,
                "flag": flag,
            },
        )
        conn.execute(
            """INSERT INTO lead_history (lead_id, event, detail)
               SELECT id, 'received', jsonb_build_object('publisher_id', publisher_id)
               FROM leads WHERE campaign_id = %s AND id > %s ORDER BY id""",
            (campaign_id, first),
        )
        conn.execute(
            """INSERT INTO lead_history (lead_id, event, detail)
               SELECT id, 'status_changed', jsonb_build_object('from', 'caution', 'to', status,
                      'reason', 'Returned: wrong contact', 'user', 'kim@acme.example', 'by', 'user')
               FROM leads WHERE campaign_id = %s AND id > %s AND id %% 10 = 0 ORDER BY id""",
            (campaign_id, first),
        )
        conn.execute("ANALYZE leads")
        conn.execute("ANALYZE lead_history")


def measure(
    url: str, logs: Path, path: str, secret: str, warm: str
) -> tuple[int, float, float, float, float]:
    """(rows, seconds, peak RSS above baseline MB, baseline MB, server CPU s) on a fresh server
    (`bench_snapshot.measure`, without gzip)."""
    fetch, peak, baseline, cpu = snapshot_measure(url, logs, path, secret, False, warm)
    rows = fetch.body.count(b"\r\n") - 1  # no value of the seed holds a line break
    return rows, fetch.total, peak, baseline, cpu


def bulk(url: str, client: common.Client, n: int, naive_n: int) -> list[list[str]]:
    """Time the bulk change of `n` leads and the loop of `naive_n` single changes."""
    from sqlalchemy import text

    from leadgate.db import make_engine, make_sessionmaker, transaction
    from leadgate.kit.repository import TenantScope
    from leadgate.leads import service as leads
    from leadgate.review import service as review
    from leadgate.review.schemas import BulkStatus

    api = common.LocalApi(url, client.subdomain, client.token)
    api.ok("POST", "/reasons", 201, json={"name": "Returned: wrong contact"})
    api.ok(
        "POST",
        "/publisher/webhooks",
        201,
        secret=client.key,
        json={"url": "http://127.0.0.1:8000/i/sink/hooks", "events": ["lead.status_changed"]},
    )
    rows = []
    sessions = make_sessionmaker(make_engine(url))
    for way, count in (("bulk (`POST /leads/bulk-status`)", n), ("loop of `set_status`", naive_n)):
        cid = api.ok(
            "POST", "/campaigns", 201, json={"name": way, "fields": [{"name": f} for f in FIELDS]}
        )["id"]
        seed(url, client.instance_id, cid, client.publisher_id, count, "caution")
        with sessions() as s:
            ids = list(
                s.execute(
                    text("SELECT id FROM leads WHERE campaign_id = :c ORDER BY id"), {"c": cid}
                ).scalars()
            )
        start = time.perf_counter()
        with transaction(sessions) as session:
            scope = TenantScope(session, client.instance_id)
            if way.startswith("bulk"):
                body = BulkStatus(
                    lead_ids=ids,
                    status="invalid",
                    reason="Returned: wrong contact",
                    comment="bench",
                )
                review.bulk_status(scope, body, "bench")
            else:
                for lead_id in ids:
                    leads.set_status(
                        scope,
                        leads.get(scope, lead_id),
                        "invalid",
                        "Returned: wrong contact",
                        "bench",
                    )
        seconds = time.perf_counter() - start
        with sessions() as s:
            changed = s.execute(
                text("SELECT count(*) FROM leads WHERE campaign_id = :c AND status = 'invalid'"),
                {"c": cid},
            ).scalar_one()
            history = s.execute(
                text(
                    "SELECT count(*) FROM lead_history h JOIN leads l ON l.id = h.lead_id "
                    "WHERE l.campaign_id = :c AND h.event = 'status_changed' "
                    "AND h.detail->>'user' = 'bench'"
                ),
                {"c": cid},
            ).scalar_one()
            events = s.execute(
                text(
                    "SELECT count(*) FROM webhook_messages m JOIN procrastinate_jobs j "
                    "ON j.task_name = 'leadgate.deliver_webhook' "
                    "AND (j.args->>'message_id')::bigint = m.id "
                    "WHERE (m.body::jsonb->'data'->>'lead_id')::bigint "
                    "BETWEEN :lo AND :hi"
                ),
                {"lo": ids[0], "hi": ids[-1]},
            ).scalar_one()
        assert changed == history == events == count, (way, changed, history, events, count)
        per_10k = seconds / count * 10_000
        ok = per_10k <= BULK_TARGET_S if way.startswith("bulk") else None
        rows.append(
            [
                way,
                f"{count:,}",
                f"{seconds:.2f} s",
                f"{count / seconds:,.0f}",
                f"{per_10k:.2f} s",
                f"{history:,} / {events:,}",
                "-" if ok is None else common.verdict(ok),
            ]
        )
        print(rows[-1])
    api.client.close()
    return rows


def run(n: int, bulk_n: int, naive_bulk: int) -> str:
    started = time.perf_counter()
    m = common.machine()
    export_rows = []
    with (
        common.bench_database("review_export") as url,
        tempfile.TemporaryDirectory(prefix="bench-export-") as tmp,
    ):
        logs = Path(tmp)
        client = common.client_world(url, {}, fields=FIELDS)
        seed(url, client.instance_id, client.campaign_id, client.publisher_id, n, None)
        print(f"seeded {n:,} leads in {time.perf_counter() - started:.1f} s")
        # The warm-up exports nothing (a day long gone): imports, connections, the first query.
        warm = f"/i/{client.subdomain}/api/v1/leads/export?to=2000-01-01"
        for way, path in (
            (
                "streamed (`GET /leads/export`)",
                f"/i/{client.subdomain}/api/v1/leads/export?campaign_id={client.campaign_id}",
            ),
            (
                "naive (load all, then write)",
                f"/bench/i/{client.subdomain}/campaigns/{client.campaign_id}/naive-export",
            ),
        ):
            rows, seconds, peak, base, cpu = measure(url, logs, path, client.token, warm)
            assert rows == n, (way, rows, n)
            rate = rows / seconds
            ok = (
                rate >= ROWS_TARGET and peak <= PEAK_TARGET_MB
                if way.startswith("streamed")
                else None
            )
            export_rows.append(
                [
                    way,
                    f"{rows:,}",
                    f"{seconds:.2f} s",
                    f"{rate:,.0f}",
                    f"+{peak:.0f} MB",
                    f"{base:.0f} MB",
                    f"{cpu:.1f} s",
                    "-" if ok is None else common.verdict(ok),
                ]
            )
            print(export_rows[-1])
        bulk_rows = bulk(url, client, bulk_n, naive_bulk)
    lines = [
        "# Review queue and export (issue 14)",
        "",
        *common.header_lines(common.command_line(), m),
        f"- wall time of the whole run: {time.perf_counter() - started:.0f} s",
        "",
        f"## Export of {n:,} leads (one campaign, 7 form fields)",
        "",
        f"Target: >= {ROWS_TARGET:,} rows/s, server peak memory <= +{PEAK_TARGET_MB:.0f} MB.",
        "",
        common.table(
            [
                "way",
                "rows",
                "time",
                "rows/s",
                "server peak above baseline",
                "baseline",
                "server CPU",
                "target",
            ],
            export_rows,
        ),
        "",
        f"## Bulk status change (target: 10,000 leads in <= {BULK_TARGET_S:.0f} s)",
        "",
        "Each lead: its status, one history entry, one `lead.status_changed` message with its task "
        "(its publisher has a subscription), all in one committed transaction.",
        "",
        common.table(
            ["way", "leads", "time", "leads/s", "per 10,000", "history / events", "target"],
            bulk_rows,
        ),
    ]
    return common.write_result("review-export", "\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--bulk", type=int, default=10_000)
    parser.add_argument("--naive-bulk", type=int, default=10_000)
    args = parser.parse_args()
    run(args.leads, args.bulk, args.naive_bulk)


if __name__ == "__main__":
    main()
