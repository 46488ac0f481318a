"""Full snapshot and delta of a list job's values, as a publisher reads them.

    python bench/bench_snapshot.py [--values 1000000] [--small 100000]

A client instance shares a validation-list job of `--values` company names (and one of `--small`
values, to see whether memory grows with the list) with a publisher key. Against a fresh server
process per measurement (uvicorn running bench/serve_app.py: the real app, as `leadgate serve
--no-worker`, asyncio + h11), it fetches `GET /i/{sub}/api/v1/publisher/campaigns/{cid}/jobs/
{jid}/values` over a raw socket on loopback, with and without `Accept-Encoding: gzip`, and
records the time to the first and last byte, every byte received (status line, headers, chunk
framing, body) and the server's peak resident memory (sampled every 10 ms) above its resident
memory before the request. The naive way, all values in memory and one JSON document
(serve_app.py's `naive-snapshot`), is measured the same way. Then 10 value changes to the big list
(one PATCH of 5 added + 5 removed, and 10 PATCHes of one value) and `?since=V`: bytes received.
Writes bench/results/snapshot.md.
"""

from __future__ import annotations

import argparse
import gzip
import json
import socket
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import common
from bench_matching import company_list, make_pools

DELTA_TARGET_BYTES = 4096


@dataclass
class Fetch:
    status: int
    wire: int
    header_bytes: int
    body: bytes
    encoding: str
    ttfb: float
    total: float


def raw_get(port: int, path: str, secret: str, gzip_ok: bool) -> Fetch:
    """GET over a plain socket; counts every byte received."""
    request = (
        f"GET {path} HTTP/1.1\r\nHost: {common.LOOPBACK}:{port}\r\n"
        f"Authorization: Bearer {secret}\r\n"
        f"Accept-Encoding: {'gzip' if gzip_ok else 'identity'}\r\nConnection: close\r\n\r\n"
    ).encode()
    chunks: list[bytes] = []
    start = time.perf_counter()
    ttfb = 0.0
    with socket.create_connection((common.LOOPBACK, port), timeout=300) as sock:
        sock.sendall(request)
        while True:
            data = sock.recv(1 << 20)
            if not data:
                break
            if not chunks:
                ttfb = time.perf_counter() - start
            chunks.append(data)
    total = time.perf_counter() - start
    raw = b"".join(chunks)
    head, _, rest = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:])}
    body = _dechunk(rest) if headers.get("transfer-encoding") == "chunked" else rest
    encoding = headers.get("content-encoding", "identity")
    if encoding == "gzip":
        body = gzip.decompress(body)
    return Fetch(status, len(raw), len(head) + 4, body, encoding, ttfb, total)


def _dechunk(data: bytes) -> bytes:
    out, pos = [], 0
    while True:
        end = data.index(b"\r\n", pos)
        size = int(data[pos:end].split(b";")[0], 16)
        if size == 0:
            return b"".join(out)
        out.append(data[end + 2 : end + 2 + size])
        pos = end + 2 + size + 2


def measure(
    url: str, logs: Path, path: str, secret: str, gzip_ok: bool, warm_path: str
) -> tuple[Fetch, float, float, float]:
    """(fetch, peak RSS above baseline MB, baseline MB, server CPU s) on a fresh server."""
    port = common.free_port()
    env = common.server_env(url, port)
    server = common.uvicorn_factory("snapshot", port, env, logs).start()
    try:
        server.wait_http(f"http://{common.LOOPBACK}:{port}")
        raw_get(port, warm_path, secret, False)  # imports, connections, a first query
        time.sleep(0.3)
        cpu0 = common.cpu_seconds([server.pid])
        with common.RssSampler(server.pid) as rss:
            fetch = raw_get(port, path, secret, gzip_ok)
            time.sleep(0.05)
        cpu = common.cpu_seconds([server.pid]) - cpu0
    finally:
        server.stop()
    if fetch.status != 200:
        raise RuntimeError(f"{path}: {fetch.status} {fetch.body[:300]!r}")
    return fetch, max(0.0, rss.peak - rss.baseline), rss.baseline, cpu


def _deltas(port: int, path: str, key: str, cases: list[tuple[str, int, int]]) -> list[list[str]]:
    rows = []
    for label, since, expect in cases:
        for gz in (False, True):
            f = raw_get(port, f"{path}?since={since}", key, gz)
            doc = json.loads(f.body)
            assert doc["mode"] == "delta", doc
            got = len(doc["added"]) + len(doc["removed"])
            assert got == expect, (label, got, expect)
            rows.append(
                [
                    label,
                    "gzip" if gz else "identity",
                    f.encoding,
                    f"{len(f.body):,} B",
                    f"{f.wire:,} B",
                    f"{f.total * 1000:.1f} ms",
                    "yes" if f.wire < DELTA_TARGET_BYTES else "**no**",
                ]
            )
    return rows


def run(size: int, small: int) -> str:
    started = time.perf_counter()
    m = common.machine()
    pools = make_pools(7)
    values = company_list(pools, size)
    rows = []
    delta_rows = []
    with (
        common.bench_database("snapshot") as url,
        tempfile.TemporaryDirectory(prefix="bench-snapshot-") as tmp,
    ):
        logs = Path(tmp)
        client = common.client_world(url, {"Big": values, "Small": values[:small]})
        pub = f"/i/{client.subdomain}/api/v1/publisher/campaigns/{client.campaign_id}/jobs"
        warm = f"{pub}/{client.jobs['Small']}"
        results: dict[tuple[str, int, bool], Fetch] = {}
        for name, n in (("Small", small), ("Big", size)):
            job = client.jobs[name]
            for way, path, secret in (
                ("streamed (`/publisher/.../values`)", f"{pub}/{job}/values", client.key),
                (
                    "naive (all in memory)",
                    f"/bench/i/{client.subdomain}/lists/{client.lists[name]}/naive-snapshot",
                    client.token,
                ),
            ):
                for gz in (False, True):
                    f, peak, base, cpu = measure(url, logs, path, secret, gz, warm)
                    doc = json.loads(f.body)
                    assert len(doc["values"]) == n, (len(doc["values"]), n)
                    results[(way, n, gz)] = f
                    rows.append(
                        [
                            f"{n:,}",
                            way,
                            f.encoding,
                            f"{f.ttfb * 1000:.0f} ms",
                            f"{f.total:.2f} s",
                            f"{f.wire / common.MB:.1f} MB",
                            f"{peak:.0f} MB",
                            f"{base:.0f} MB",
                            f"{cpu:.2f} s",
                        ]
                    )
                    print(rows[-1])

        # deltas on the big list, against a running server
        port = common.free_port()
        server = common.uvicorn_factory("delta", port, common.server_env(url, port), logs).start()
        try:
            base = f"http://{common.LOOPBACK}:{port}"
            server.wait_http(base)
            admin = common.Api(base, client.subdomain, client.token)
            lid = client.lists["Big"]
            v0 = admin.ok("GET", f"/lists/{lid}")["version"]
            admin.ok(
                "PATCH",
                f"/lists/{lid}/values",
                json={
                    "add": [f"New Account {i} Holdings Worldwide" for i in range(5)],
                    "remove": values[1000:1005],
                },
            )
            v1 = admin.ok("GET", f"/lists/{lid}")["version"]
            path = f"{pub}/{client.jobs['Big']}/values"
            measured = [("one change of 10 values (5 added, 5 removed)", v0, 10)]
            delta_rows += _deltas(port, path, client.key, measured)
            for i in range(10):
                change = (
                    {"add": [f"Another Account {i} GmbH & Co KG"]}
                    if i % 2 == 0
                    else {"remove": [values[2000 + i]]}
                )
                admin.ok("PATCH", f"/lists/{lid}/values", json=change)
            admin.close()
            measured = [
                ("10 changes of 1 value each", v1, 10),
                ("all 11 changes (20 values)", v0, 20),
            ]
            delta_rows += _deltas(port, path, client.key, measured)
        finally:
            server.stop()

    big_stream = results[("streamed (`/publisher/.../values`)", size, False)]
    big_gzip = results[("streamed (`/publisher/.../values`)", size, True)]
    delta_wire = max(int(r[4].split()[0].replace(",", "")) for r in delta_rows[:4])
    stream_peaks = [r for r in rows if r[1].startswith("streamed")]
    lines = [
        "## List values for publishers: full snapshot and delta (`bench/bench_snapshot.py`)",
        "",
        *common.header_lines(common.command_line(), m),
        f"- run time {time.perf_counter() - started:.0f} s",
        "- server: uvicorn + bench/serve_app.py (the real app, 1 process, asyncio + h11, no task "
        "worker), a fresh process per row; client: a raw socket on 127.0.0.1 (`Connection: "
        "close`), counting every byte received; values: company names, ~28 characters.",
        "- *peak RSS above base*: the server's resident memory sampled every 10 ms during the "
        "request, minus its resident memory before it (after one warm-up request); *server CPU*: "
        "CPU seconds the server process spent on the request.",
        "",
        "### Full snapshot",
        "",
        common.table(
            [
                "values",
                "way",
                "encoding",
                "first byte",
                "last byte",
                "received",
                "peak RSS above base",
                "base RSS",
                "server CPU",
            ],
            rows,
            "rllrrrrrr",
        ),
        "",
        f"Streamed snapshot of {size:,} values: {big_stream.total:.2f} s, "
        f"{big_stream.wire / common.MB:.1f} MB plain, {big_gzip.wire / common.MB:.1f} MB gzip "
        f"({big_stream.wire / big_gzip.wire:.1f}x smaller). Memory is bounded when the peak above "
        f"base stays flat from {small:,} to {size:,} values: "
        f"{stream_peaks[0][6]} / {stream_peaks[1][6]} (plain / gzip) at {small:,} vs "
        f"{stream_peaks[2][6]} / {stream_peaks[3][6]} at {size:,}.",
        "",
        "### Delta (`?since=V`) after 10 value changes to the big list",
        "",
        common.table(
            [
                "delta",
                "Accept-Encoding",
                "answer encoding",
                "body",
                "received (headers + body)",
                "time",
                "< 4 KB",
            ],
            delta_rows,
            "lllrrrl",
        ),
        "",
        f"Target (issue 4 / issue 5): a delta of 10 changes to the {size:,}-value list transfers "
        f"under 4 KB: {common.verdict(delta_wire < DELTA_TARGET_BYTES)} (at most "
        f"{delta_wire:,} B received, headers included). Against the naive way (a full snapshot "
        f"for every change): {big_gzip.wire / delta_wire:,.0f}x fewer bytes than even the "
        "gzipped snapshot.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--values", type=int, default=1_000_000, help="size of the big list")
    parser.add_argument("--small", type=int, default=100_000, help="size of the small list")
    args = parser.parse_args(argv)
    common.write_result("snapshot", run(args.values, args.small))


if __name__ == "__main__":
    main()
