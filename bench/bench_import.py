"""CSV import of a validation list, end to end, against the naive row-by-row INSERT.

    python bench/bench_import.py [--values 1000000] [--naive 50000] [--no-http]

Builds a CSV of realistic company names (the generator of bench_matching.py, fixed seed) and
imports it through `leadgate.lists.service.import_csv` (decode, parse, COPY into a temp table, set
SQL, change log, commit) in three cases: the first import (`replace` into an empty list), the same
file again with 10 values changed (`replace`, a typical re-upload), and the same file with
`mode=add` (everything already there). Then, unless `--no-http`, the first import again into a new
list through `POST /i/{sub}/api/v1/lists/{id}/import` on a running `leadgate serve --no-worker`
(separate process, loopback). The naive way, one `INSERT ... ON CONFLICT DO NOTHING` statement per
value in one transaction, runs on `--naive` values and is extrapolated linearly to `--values` (as
is psycopg's `executemany`, which pipelines the same statements). Writes bench/results/import.md.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psycopg

import common
from bench_matching import company_list, make_pools

TARGET_S = 15.0


def _list(url: str, sub: str, name: str) -> int:
    from leadgate.db import make_engine, make_sessionmaker, transaction
    from leadgate.instances.service import get_instance
    from leadgate.kit.repository import TenantScope
    from leadgate.lists import service

    with transaction(make_sessionmaker(make_engine(url))) as session:
        inst = get_instance(session, sub)
        assert inst is not None
        return service.create(TenantScope(session, inst.id), name).id


def _import(url: str, sub: str, list_id: int, body: bytes, mode: str) -> tuple[float, float, dict]:
    """Seconds for import_csv incl. commit, seconds of CSV parsing alone, and the result."""
    from leadgate.db import make_engine, make_sessionmaker, transaction
    from leadgate.instances.service import get_instance
    from leadgate.kit.repository import TenantScope
    from leadgate.lists import csv_values
    from leadgate.lists.service import import_csv

    start = time.perf_counter()
    csv_values.parse(csv_values.decode(body), header="auto")
    parse_s = time.perf_counter() - start
    sessions = make_sessionmaker(make_engine(url))
    start = time.perf_counter()
    with transaction(sessions) as session:
        inst = get_instance(session, sub)
        assert inst is not None
        result = import_csv(TenantScope(session, inst.id), list_id, body, mode, header="auto")  # type: ignore[arg-type]
    total = time.perf_counter() - start
    return total, parse_s, result.model_dump()


def _naive(url: str, list_id: int, values: list[str], many: bool) -> float:
    """One INSERT per value (round trip each), or executemany (pipelined), one transaction."""
    from leadgate.db import libpq_url

    sql = "INSERT INTO list_values (list_id, value) VALUES (%s, %s) ON CONFLICT DO NOTHING"
    start = time.perf_counter()
    with psycopg.connect(libpq_url(url)) as conn, conn.cursor() as cur:
        if many:
            cur.executemany(sql, [(list_id, v) for v in values])
        else:
            for v in values:
                cur.execute(sql, (list_id, v))
        cur.execute(
            "UPDATE validation_lists SET version = version + 1, value_count = "
            "(SELECT count(*) FROM list_values WHERE list_id = %s) WHERE id = %s",
            (list_id, list_id),
        )
        conn.commit()
    return time.perf_counter() - start


def _http_import(url: str, sub: str, token: str, list_id: int, body: bytes) -> tuple[float, float]:
    """(seconds, server peak RSS MB) of POST .../lists/{id}/import on a separate server."""
    port = common.free_port()
    with tempfile.TemporaryDirectory(prefix="bench-import-") as logs:
        env = common.server_env(url, port)
        server = common.leadgate_serve("server", port, env, Path(logs), worker=False).start()
        try:
            server.wait_http(f"http://{common.LOOPBACK}:{port}")
            start = time.perf_counter()
            r = httpx.post(
                f"http://{common.LOOPBACK}:{port}/i/{sub}/api/v1/lists/{list_id}/import",
                params={"mode": "replace"},
                content=body,
                headers={"Authorization": f"Bearer {token}", "content-type": "text/csv"},
                timeout=600,
            )
            elapsed = time.perf_counter() - start
            if r.status_code != 200:
                raise RuntimeError(f"import: {r.status_code} {r.text[:300]}")
            peak = common.rss_mb(server.pid, "VmHWM")
        finally:
            server.stop()
    return elapsed, peak


def run(size: int, naive_size: int, http: bool) -> str:
    started = time.perf_counter()
    m = common.machine()
    pools = make_pools(7)
    values = company_list(pools, size)
    body = common.csv_body(values)
    changed = list(values)
    for i in range(10):
        changed[i * (size // 10)] = f"Changed Company {i} Ltd"
    body_changed = common.csv_body(changed)

    rows = []
    with common.bench_database("import") as url:
        sub, token = common.new_instance(url, "imp")
        warm = _list(url, sub, "Warm-up")
        _import(url, sub, warm, common.csv_body(values[:1000]), "replace")  # connections, imports
        lid = _list(url, sub, "Target Accounts")
        cases = [
            ("replace into empty list (first import)", body, "replace"),
            ("replace, same file with 10 values changed", body_changed, "replace"),
            ("add, every value already there", body_changed, "add"),
        ]
        results = {}
        for label, data, mode in cases:
            total, parse_s, res = _import(url, sub, lid, data, mode)
            results[label] = total
            rows.append(
                [
                    label,
                    f"{size:,}",
                    f"{len(data) / common.MB:.1f} MB",
                    f"{total:.2f} s",
                    f"{parse_s:.2f} s",
                    f"{res['added']:,} / {res['removed']:,}",
                    f"{size / total:,.0f}",
                ]
            )
            print(rows[-1], file=sys.stderr)

        naive_lid = _list(url, sub, "Naive")
        naive_values = values[:naive_size]
        naive_s = _naive(url, naive_lid, naive_values, many=False)
        many_lid = _list(url, sub, "Naive executemany")
        many_s = _naive(url, many_lid, naive_values, many=True)

        http_row = None
        if http:
            http_lid = _list(url, sub, "Via HTTP")
            http_s, peak = _http_import(url, sub, token, http_lid, body)
            http_row = (http_s, peak)

    first = results["replace into empty list (first import)"]
    naive_full = naive_s * size / naive_size
    many_full = many_s * size / naive_size
    lines = [
        "## CSV import (`bench/bench_import.py`)",
        "",
        *common.header_lines(common.command_line(), m),
        f"- run time {time.perf_counter() - started:.0f} s",
        "- values: distinct realistic company names (`<word> <Faker company><suffix>`), "
        "~30 characters on average; one per CSV line after a header line.",
        "- service: `lists.service.import_csv` in its own transaction, commit included; "
        "`parse` = decoding and parsing the CSV alone (part of the total).",
        "",
        common.table(
            ["case", "values", "CSV", "end to end", "parse", "added / removed", "values/s"],
            rows,
            "llrrrrr",
        ),
        "",
    ]
    if http_row:
        lines += [
            f"Through HTTP, `POST /i/{{sub}}/api/v1/lists/{{id}}/import?mode=replace` on "
            f"`leadgate serve --no-worker` (separate process), first import of the same "
            f"{size:,} values into a new list: **{http_row[0]:.2f} s** (client sends the "
            f"{len(body) / common.MB:.1f} MB body, server answers after commit); server peak RSS "
            f"{http_row[1]:.0f} MB.",
            "",
        ]
    lines += [
        "### Against the naive way",
        "",
        f"Naive = one `INSERT ... ON CONFLICT DO NOTHING` per value (one round trip each) in one "
        f"transaction; measured on the first **{naive_size:,}** values and **extrapolated "
        f"linearly** to {size:,} (an estimate, not a measurement).",
        "",
        common.table(
            [
                "way",
                f"measured on {naive_size:,}",
                f"extrapolated to {size:,}",
                "import_csv is faster by",
            ],
            [
                [
                    "row-by-row INSERT",
                    f"{naive_s:.2f} s",
                    f"{naive_full:.0f} s",
                    f"{naive_full / first:.1f}x",
                ],
                [
                    "executemany (psycopg pipeline)",
                    f"{many_s:.2f} s",
                    f"{many_full:.0f} s",
                    f"{many_full / first:.1f}x",
                ],
                ["import_csv (COPY + set SQL)", "-", f"{first:.2f} s (measured)", "1x"],
            ],
            "lrrr",
        ),
        "",
        f"Target (issue 3): import of 1,000,000 values ≤ {TARGET_S:.0f} s end to end: "
        + (
            f"{common.verdict(first <= TARGET_S)} ({first:.2f} s for the first import"
            + (f", {http_row[0]:.2f} s through HTTP" if http_row else "")
            + ")."
            if size >= 1_000_000
            else f"not judged at this size ({size:,} values; run with --values 1000000)."
        ),
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--values", type=int, default=1_000_000, help="list size (default 1,000,000)"
    )
    parser.add_argument(
        "--naive", type=int, default=20_000, help="values for the naive INSERT loop (full: 50000)"
    )
    parser.add_argument("--no-http", action="store_true", help="skip the import through HTTP")
    args = parser.parse_args(argv)
    common.write_result("import", run(args.values, args.naive, not args.no_http))


if __name__ == "__main__":
    main()
