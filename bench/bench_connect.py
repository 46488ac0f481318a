"""Connect propagation: a client's list change reaching the publisher's mirror, with and without
events; initial sync of a big list; bytes of a small change; judging against a mirror.

    python bench/bench_connect.py [--values 1000000] [--changes 50] [--dropped-changes 20]
                                  [--poll-interval 5] [--full]

One deployment, one database, two `leadgate serve` processes (each with its task worker), as the
e2e tests run them: server A answers on the port of `LEADGATE_INSTANCE_URL` (through a counting
TCP proxy of bench/proxy.py, so every instance-to-instance byte is seen), server B is where the
publisher works. The client shares a `validation_list` job (`equal`) over a list of `--values`
company names; the publisher adds a "Connect - Validation List" job mirroring it, and a local
`validation_list` job over its own copy of the same values in a second campaign.

Measured:
1. initial sync: from `POST .../jobs` (B) until `connect_mirrors` holds the client's version and
   every value (read from the database every 20 ms); bytes through the proxy;
2. propagation with events: `--changes` sequential one-value changes (`PATCH .../lists/{id}/values`
   on A, alternating add / remove); latency = from the PATCH answer (client committed) until
   `connect_mirrors.list_version` reaches the new version (read every 5 ms);
3. bytes of one change of 10 values (5 added, 5 removed), per request through the proxy;
4. lead latency through `POST /campaigns/{id}/leads` (B, admin token, sequential, interleaved)
   with the local job vs the Connect job, and `leads.lifecycle.rejudge` in-process for both;
5. propagation with events dropped: the client's webhook subscription is deleted
   (`DELETE /publisher/webhooks/{id}` with the publisher key), then `--dropped-changes` changes
   are made every `--spacing` s (open loop); latency until the poll brings each in.
Writes bench/results/connect.md.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psycopg

import common
from bench_matching import company_list, make_pools
from proxy import CountingProxy

EVENTS_P99_MS = 300.0
INITIAL_SYNC_S = 20.0
DELTA_BYTES = 4096


class MirrorWatch:
    """Reads the mirror row of one Connect job straight from the database."""

    def __init__(self, url: str, job_id: int) -> None:
        from leadgate.db import libpq_url

        self.conn = psycopg.connect(libpq_url(url), autocommit=True)
        self.job_id = job_id

    def row(self) -> tuple[Any, ...] | None:
        return self.conn.execute(
            "SELECT state, list_version, value_count, webhook_id FROM connect_mirrors "
            "WHERE job_id = %s",
            (self.job_id,),
        ).fetchone()

    def version(self) -> int:
        row = self.row()
        return int(row[1]) if row and row[1] is not None else -1

    def wait_version(self, version: int, timeout: float, interval: float = 0.005) -> float:
        """Seconds (monotonic) when list_version first reached `version`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.version() >= version:
                return time.monotonic()
            time.sleep(interval)
        raise TimeoutError(f"mirror did not reach version {version} in {timeout} s")

    def close(self) -> None:
        self.conn.close()


class VersionRecorder(threading.Thread):
    """Notes when each mirror version is first seen (open-loop measurements)."""

    def __init__(self, url: str, job_id: int, interval: float = 0.01) -> None:
        super().__init__(daemon=True)
        self.watch = MirrorWatch(url, job_id)
        self.interval = interval
        self.seen: dict[int, float] = {}
        self.stopped = threading.Event()

    def run(self) -> None:
        last = -1
        while not self.stopped.is_set():
            v = self.watch.version()
            if v > last:
                now = time.monotonic()
                for k in range(last + 1, v + 1):
                    self.seen.setdefault(k, now)
                last = v
            time.sleep(self.interval)
        self.watch.close()


def _stats(samples_ms: list[float]) -> list[str]:
    return [
        f"{len(samples_ms)}",
        f"{statistics.median(samples_ms):.0f}",
        f"{common.percentile(samples_ms, 90):.0f}",
        f"{common.percentile(samples_ms, 99):.0f}",
        f"{max(samples_ms):.0f}",
    ]


def _judge_in_process(
    url: str, sub: str, campaign_id: int, names: list[str], n: int, statements: list[int]
) -> list[float]:
    """Milliseconds of leads.lifecycle.rejudge per lead (lead accepted in the same session)."""
    from sqlalchemy import event

    from leadgate.db import make_engine, make_sessionmaker
    from leadgate.instances.service import get_instance
    from leadgate.kit.repository import TenantScope
    from leadgate.leads import lifecycle

    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    out = []
    count = [0]

    def counter(*_: Any) -> None:
        count[0] += 1

    event.listen(engine, "before_cursor_execute", counter)
    with sessions() as s:
        inst = get_instance(s, sub)
        assert inst is not None
        scope = TenantScope(s, inst.id)
        for i in range(n + 10):
            lead = lifecycle.submit(
                scope, campaign_id, {"companyName": names[i % len(names)]}, max_staleness_s=None
            )
            start, before = time.perf_counter(), count[0]
            verdict = lifecycle.rejudge(scope, lead, reason="bench", max_staleness_s=None)
            if i >= 10:  # the first ones compile the list in this process
                out.append((time.perf_counter() - start) * 1000)
                statements.append(count[0] - before)
            assert verdict.status != "pending", verdict
        s.rollback()
    event.remove(engine, "before_cursor_execute", counter)
    return out


def run(args: argparse.Namespace) -> str:
    started = time.perf_counter()
    m = common.machine()
    pools = make_pools(7)
    values = company_list(pools, args.values)
    rng = random.Random(5)
    names = [
        rng.choice(values) if i % 2 == 0 else rng.choice(pools.miss_companies) for i in range(400)
    ]
    out: dict[str, Any] = {}
    with (
        common.bench_database("connect", keep=args.keep_db) as url,
        tempfile.TemporaryDirectory(prefix="bench-connect-") as tmp,
    ):
        logs = Path(tmp)
        client = common.client_world(url, {"Target Accounts": values})
        pub_sub, pub_token = common.new_instance(url, "pub")
        tmpl, a_port, b_port = common.free_port(), common.free_port(), common.free_port()
        env = common.server_env(
            url,
            tmpl,
            LEADGATE_SYNC_POLL_INTERVAL_S=str(args.poll_interval),
            LEADGATE_WEBHOOK_RETRY_BASE_S="0.5",
        )
        proxy = CountingProxy(tmpl, a_port).start()
        a = common.leadgate_serve("a", a_port, env, logs).start()
        b = common.leadgate_serve("b", b_port, env, logs).start()
        try:
            a_url, b_url = f"http://127.0.0.1:{a_port}", f"http://127.0.0.1:{b_port}"
            a.wait_http(a_url)
            b.wait_http(b_url)
            out.update(
                _measure(args, url, client, pub_sub, pub_token, a_url, b_url, proxy, values, names)
            )
        finally:
            b.stop()
            a.stop()
            proxy.stop()
            if args.keep_logs:
                for p in (a, b):
                    (common.RESULTS / f"connect-{p.name}.log").write_text(p.tail(200_000))
    return report(args, m, out, time.perf_counter() - started)


def _measure(
    args: argparse.Namespace,
    url: str,
    client: common.Client,
    pub_sub: str,
    pub_token: str,
    a_url: str,
    b_url: str,
    proxy: CountingProxy,
    values: list[str],
    names: list[str],
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    pub = common.Api(b_url, pub_sub, pub_token)
    acme = common.Api(a_url, client.subdomain, client.token)
    acme_pub = common.Api(a_url, client.subdomain, client.key)
    lid = client.lists["Target Accounts"]

    camp_m = pub.ok(
        "POST", "/campaigns", 201, json={"name": "Mirrored", "fields": [{"name": "companyName"}]}
    )
    camp_l = pub.ok(
        "POST", "/campaigns", 201, json={"name": "Local", "fields": [{"name": "companyName"}]}
    )
    local_list = pub.ok("POST", "/lists", 201, json={"name": "Own copy"})
    common.import_values(url, pub_sub, local_list["id"], values)
    pub.ok(
        "POST",
        f"/campaigns/{camp_l['id']}/jobs",
        201,
        json={
            "type": "validation_list",
            "label": "Own copy",
            "config": {
                "list_id": local_list["id"],
                "field_name": "companyName",
                "operator": "equal",
                "rule": "pass",
            },
        },
    )
    client_version = acme.ok("GET", f"/lists/{lid}")["version"]

    # 1. initial sync
    t0 = time.monotonic()
    job = pub.ok(
        "POST",
        f"/campaigns/{camp_m['id']}/jobs",
        201,
        json={
            "type": "connect_validation_list",
            "label": "Client's target accounts",
            "config": {
                "API_Key": client.key,
                "Subdomain": client.subdomain,
                "Campaign": client.campaign_id,
                "Campaign_Processr_Job": client.jobs["Target Accounts"],
                "Field_name": "companyName",
            },
        },
    )
    watch = MirrorWatch(url, job["id"])
    deadline = time.monotonic() + 300
    while True:
        row = watch.row()
        if row and row[0] == "ok" and row[1] == client_version and row[2] == len(values):
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"initial sync did not finish: {row}")
        time.sleep(0.02)
    out["initial_s"] = time.monotonic() - t0
    time.sleep(1.0)
    out["initial_ex"] = proxy.since(t0)
    state = pub.ok("GET", f"/campaigns/{camp_m['id']}/jobs/{job['id']}/sync")
    out["events_on"] = state.get("events")
    print("initial sync", out["initial_s"], state, file=sys.stderr)

    # 2. propagation with events
    lat: list[float] = []
    phases: list[dict[str, float]] = []
    for i in range(args.changes):
        change = (
            {"add": [f"Propagation Test {i} Corp"]}
            if i % 2 == 0
            else {"remove": [f"Propagation Test {i - 1} Corp"]}
        )
        v = acme.ok("PATCH", f"/lists/{lid}/values", json=change)["version"]
        t_commit = time.monotonic()
        seen = watch.wait_version(v, timeout=60)
        lat.append((seen - t_commit) * 1000)
        phases.append(_phases(proxy.since(t_commit), t_commit, seen))
        time.sleep(random.uniform(0.05, 0.15))
    out["events_ms"] = lat
    out["phases"] = phases
    print("events", _stats(lat), file=sys.stderr)

    # 3. bytes of a 10-value change
    time.sleep(2.0)
    t0 = time.monotonic()
    v = acme.ok(
        "PATCH",
        f"/lists/{lid}/values",
        json={
            "add": [f"Ten Values Test {i} International Holdings" for i in range(5)],
            "remove": values[5000:5005],
        },
    )["version"]
    watch.wait_version(v, timeout=60)
    time.sleep(1.5)
    out["delta_ex"] = proxy.since(t0)

    # 4. judging: local list vs mirror
    http_l, http_m = [], []
    c = pub.client
    for i in range(args.judge_leads + 10):
        for cid, sink in ((camp_l["id"], http_l), (camp_m["id"], http_m)):
            start = time.perf_counter()
            r = c.post(
                pub.root + f"/campaigns/{cid}/leads",
                json={"data": {"companyName": names[i % len(names)]}},
            )
            elapsed = (time.perf_counter() - start) * 1000
            if r.status_code != 201 or r.json()["status"] == "pending":
                raise RuntimeError(f"lead: {r.status_code} {r.text[:300]}")
            if i >= 10:
                sink.append(elapsed)
    out["http_local"], out["http_mirror"] = http_l, http_m
    out["stmts_local"], out["stmts_mirror"] = [], []
    out["judge_local"] = _judge_in_process(
        url, pub_sub, camp_l["id"], names, args.judge_leads, out["stmts_local"]
    )
    out["judge_mirror"] = _judge_in_process(
        url, pub_sub, camp_m["id"], names, args.judge_leads, out["stmts_mirror"]
    )
    print("judging", _stats(http_l), _stats(http_m), file=sys.stderr)

    # 5. events dropped: poll only
    row = watch.row()
    assert row is not None and row[3] is not None, row
    acme_pub.ok("DELETE", f"/publisher/webhooks/{row[3]}", 204)
    time.sleep(1.0)
    recorder = VersionRecorder(url, job["id"])
    recorder.start()
    commits: list[tuple[int, float]] = []
    for i in range(args.dropped_changes):
        change = (
            {"add": [f"Poll Test {i} Corp"]}
            if i % 2 == 0
            else {"remove": [f"Poll Test {i - 1} Corp"]}
        )
        v = acme.ok("PATCH", f"/lists/{lid}/values", json=change)["version"]
        commits.append((v, time.monotonic()))
        time.sleep(args.spacing)
    last = commits[-1][0]
    deadline = time.monotonic() + args.poll_interval + 30
    while last not in recorder.seen and time.monotonic() < deadline:
        time.sleep(0.05)
    recorder.stopped.set()
    recorder.join()
    dropped = [(recorder.seen[v] - t) * 1000 for v, t in commits if v in recorder.seen]
    out["dropped_ms"] = dropped
    out["dropped_missing"] = len(commits) - len(dropped)
    print("dropped", _stats(dropped) if dropped else "none", file=sys.stderr)
    watch.close()
    for api in (pub, acme, acme_pub):
        api.close()
    return out


PHASES = [
    (
        "client commit → event POST reaches the publisher (webhook task picked up, signed, sent)",
        "event",
    ),
    (
        "event POST → publisher's definition GET (event stored, sync task queued and picked up)",
        "definition",
    ),
    ("definition GET → values GET (`?since=`)", "values"),
    ("values GET → new version visible in `connect_mirrors` (apply delta, commit)", "applied"),
]


def _phases(exchanges: list[Any], t_commit: float, seen: float) -> dict[str, float]:
    """Milliseconds between the steps of one propagation, from the proxy's request times."""
    event = next((e.at for e in exchanges if "/connect/events/" in e.path), None)
    defn = next(
        (
            e.at
            for e in exchanges
            if e.method == "GET" and "/values" not in e.path and "/jobs/" in e.path
        ),
        None,
    )
    vals = next((e.at for e in exchanges if e.method == "GET" and "/values" in e.path), None)
    if event is None or defn is None or vals is None:
        return {}
    return {
        "event": (event - t_commit) * 1000,
        "definition": (defn - event) * 1000,
        "values": (vals - defn) * 1000,
        "applied": (seen - vals) * 1000,
    }


def _ex_rows(exchanges: list[Any]) -> list[list[str]]:
    rows = []
    for e in exchanges:
        path = e.path.split("/api/v1", 1)[-1]
        rows.append(
            [e.method, f"`{path}`", f"{e.sent:,}", f"{e.received:,}", f"{e.sent + e.received:,}"]
        )
    return rows


def report(args: argparse.Namespace, m: dict[str, str], out: dict[str, Any], elapsed: float) -> str:
    initial_bytes = sum(e.sent + e.received for e in out["initial_ex"])
    delta_bytes = sum(e.sent + e.received for e in out["delta_ex"])
    delta_pull = sum(e.sent + e.received for e in out["delta_ex"] if e.method == "GET")
    ev = out["events_ms"]
    dr = out["dropped_ms"]
    dropped_target = (args.poll_interval + 1) * 1000
    hl, hm = statistics.median(out["http_local"]), statistics.median(out["http_mirror"])
    jl, jm = statistics.median(out["judge_local"]), statistics.median(out["judge_mirror"])
    big = args.values >= 1_000_000
    lines = [
        "## Connect propagation (`bench/bench_connect.py`)",
        "",
        *common.header_lines(common.command_line(), m),
        f"- run time {elapsed:.0f} s",
        "- deployment: one database, two `leadgate serve` processes (API + in-process task worker "
        "each); server A answers on the port of `LEADGATE_INSTANCE_URL` through a counting TCP "
        "proxy (bench/proxy.py, adds well under 1 ms), the publisher works on server B; "
        f"`LEADGATE_SYNC_POLL_INTERVAL_S={args.poll_interval}`.",
        f"- the client's list: {args.values:,} company names, shared through a visible "
        '`validation_list` job (`equal`); the publisher mirrors it with a "Connect - Validation '
        'List" job.',
        "",
        "### Initial sync",
        "",
        f"From `POST .../jobs` until the mirror holds all {args.values:,} values at the client's "
        f"version: **{out['initial_s']:.1f} s**; {initial_bytes / common.MB:.1f} MB between the "
        f"instances (gzip), {len(out['initial_ex'])} requests; events subscribed: "
        f"{out['events_on']}.",
        "",
        common.table(
            ["method", "path", "sent B", "received B", "total B"],
            _ex_rows(out["initial_ex"]),
            "llrrr",
        ),
        "",
        "### Propagation: client change → publisher's mirror updated",
        "",
        common.table(
            ["mode", "changes", "p50 ms", "p90 ms", "p99 ms", "max ms", "target p99"],
            [
                [
                    "with events (job.updated → delta pull)",
                    *_stats(ev),
                    f"≤ {EVENTS_P99_MS:.0f} ms: "
                    + common.verdict(common.percentile(ev, 99) <= EVENTS_P99_MS),
                ],
                [
                    f"events dropped (poll every {args.poll_interval} s)",
                    *_stats(dr),
                    f"≤ {dropped_target:.0f} ms: "
                    + common.verdict(
                        bool(dr)
                        and common.percentile(dr, 99) <= dropped_target
                        and out["dropped_missing"] == 0
                    ),
                ],
            ],
            "lrrrrrl",
        ),
        "",
        "Where the time of a propagation with events goes (median over the changes, from the "
        "times the requests reached the proxy):",
        "",
        common.table(
            ["step", "median ms", "p90 ms"],
            [
                [label, f"{statistics.median(vals):.0f}", f"{common.percentile(vals, 90):.0f}"]
                for label, key in PHASES
                if (vals := [p[key] for p in out["phases"] if p])
            ],
            "lrr",
        ),
        "",
        f"With events: changes one after the other (each awaited, 50-150 ms apart). Events "
        f"dropped: one change every {args.spacing} s regardless (open loop)"
        + (f"; {out['dropped_missing']} changes not seen in time" if out["dropped_missing"] else "")
        + ". Naive way for comparison: a publisher that only re-reads the whole list on a timer "
        f"would move {initial_bytes / common.MB:.1f} MB per poll.",
        "",
        "### One change of 10 values (5 added, 5 removed) on the wire",
        "",
        common.table(
            ["method", "path", "sent B", "received B", "total B"],
            _ex_rows(out["delta_ex"]),
            "llrrr",
        ),
        "",
        f"All instance-to-instance bytes of the change: **{delta_bytes:,} B** (the publisher's "
        f"pulls alone: {delta_pull:,} B; the rest is the signed event). Target ≤ "
        f"{DELTA_BYTES:,} B: {common.verdict(delta_bytes <= DELTA_BYTES)}. Against the naive "
        f"full re-sync ({initial_bytes:,} B): {initial_bytes / max(1, delta_bytes):,.0f}x less.",
        "",
        "### Judging against the mirror vs a local list",
        "",
        common.table(
            [
                "what",
                "local `validation_list` p50 / p99 ms",
                "Connect mirror p50 / p99 ms",
                "mirror / local (p50)",
            ],
            [
                [
                    f"`POST /campaigns/{{id}}/leads` on B, sequential, {len(out['http_local'])} "
                    "each, interleaved",
                    f"{hl:.2f} / {common.percentile(out['http_local'], 99):.2f}",
                    f"{hm:.2f} / {common.percentile(out['http_mirror'], 99):.2f}",
                    f"{hm / hl:.2f}x",
                ],
                [
                    f"`leads.lifecycle.rejudge` in-process, {len(out['judge_local'])} each",
                    f"{jl:.3f} / {common.percentile(out['judge_local'], 99):.3f}",
                    f"{jm:.3f} / {common.percentile(out['judge_mirror'], 99):.3f}",
                    f"{jm / jl:.2f}x",
                ],
                [
                    "SQL statements per `judge` call",
                    f"{statistics.mean(out['stmts_local']):.1f}",
                    f"{statistics.mean(out['stmts_mirror']):.1f}",
                    "",
                ],
            ],
            "lrrr",
        ),
        "",
        "### Targets (issue 5)",
        "",
        common.table(
            ["target", "measured", "verdict"],
            [
                [
                    f"propagation p99 with events ≤ {EVENTS_P99_MS:.0f} ms",
                    f"{common.percentile(ev, 99):.0f} ms",
                    common.verdict(common.percentile(ev, 99) <= EVENTS_P99_MS),
                ],
                [
                    f"propagation p99 with events dropped ≤ poll interval + 1 s = "
                    f"{dropped_target / 1000:.0f} s",
                    f"{common.percentile(dr, 99) / 1000:.1f} s" if dr else "-",
                    common.verdict(bool(dr) and common.percentile(dr, 99) <= dropped_target),
                ],
                [
                    f"initial sync of 1,000,000 values ≤ {INITIAL_SYNC_S:.0f} s",
                    f"{out['initial_s']:.1f} s ({args.values:,} values)",
                    common.verdict(out["initial_s"] <= INITIAL_SYNC_S)
                    if big
                    else "not judged (size)",
                ],
                [
                    f"10-value change ≤ {DELTA_BYTES:,} B on the wire",
                    f"{delta_bytes:,} B",
                    common.verdict(delta_bytes <= DELTA_BYTES),
                ],
                [
                    "judging against a mirrored list costs the same as a local list",
                    f"{jm / jl:.2f}x in-process, {hm / hl:.2f}x over HTTP",
                    common.verdict(jm / jl <= 1.25 and hm / hl <= 1.25) + " (within 25%)",
                ],
            ],
            "lll",
        ),
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--values", type=int, default=1_000_000, help="client list size")
    parser.add_argument("--changes", type=int, default=50, help="changes with events (full: 200)")
    parser.add_argument(
        "--dropped-changes", type=int, default=20, help="changes with events dropped (full: 200)"
    )
    parser.add_argument(
        "--poll-interval", type=int, default=5, help="LEADGATE_SYNC_POLL_INTERVAL_S of both servers"
    )
    parser.add_argument(
        "--spacing",
        type=float,
        default=1.37,
        help="seconds between changes when events are dropped",
    )
    parser.add_argument("--judge-leads", type=int, default=200, help="leads per judging variant")
    parser.add_argument(
        "--keep-logs",
        action="store_true",
        help="copy the server logs to bench/results/connect-*.log",
    )
    parser.add_argument(
        "--keep-db",
        action="store_true",
        help="keep the bench database (to inspect it; drop it by hand)",
    )
    parser.add_argument("--full", action="store_true", help="200 changes in both modes")
    args = parser.parse_args(argv)
    if args.full:
        args.changes = max(args.changes, 200)
        args.dropped_changes = max(args.dropped_changes, 200)
    common.write_result("connect", run(args))


if __name__ == "__main__":
    main()
