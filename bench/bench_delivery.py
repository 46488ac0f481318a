"""Connect delivery throughput and crash safety (issue 6).

Two `leadgate serve` processes of one deployment (A on the template's port: the client side;
B: the publisher's API), one database. N leads are submitted to the publisher's campaign, which
delivers valid leads into the client's campaign through a `connect_delivery` job. Measured:
leads/s from valid to acknowledged by the client, and the latency a delivery adds per lead
(lead created → delivered), against the naive way in the same run: posting the same leads
directly to the client's Publisher API. With `--crash`, both processes are killed (SIGKILL) at
random points while the leads are delivered; afterwards every valid lead must exist exactly once
at the client.
"""

from __future__ import annotations

import argparse
import itertools
import random
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psycopg

import common

FORM = [{"name": "company", "required": True}, {"name": "email", "required": True}]


def setup(url: str, base: str) -> dict[str, Any]:
    """acme (client) with a campaign granted to LeadCo's key; leadco delivering into it."""
    acme_sub, acme_token = common.new_instance(url, "acme")
    leadco_sub, leadco_token = common.new_instance(url, "leadco")
    acme = common.Api(base, acme_sub, acme_token)
    leadco = common.Api(base, leadco_sub, leadco_token)
    client_campaign = acme.ok("POST", "/campaigns", 201, json={"name": "In", "fields": FORM})
    pub = acme.ok("POST", "/publishers", 201, json={"name": "LeadCo"})
    key = acme.ok("POST", f"/publishers/{pub['id']}/api-keys", 201)["key"]
    acme.ok("PUT", f"/campaigns/{client_campaign['id']}/publishers/{pub['id']}", 204)
    direct = acme.ok("POST", "/campaigns", 201, json={"name": "Direct", "fields": FORM})
    acme.ok("PUT", f"/campaigns/{direct['id']}/publishers/{pub['id']}", 204)
    ours = leadco.ok("POST", "/campaigns", 201, json={"name": "Out", "fields": FORM})
    leadco.ok(
        "POST",
        f"/campaigns/{ours['id']}/jobs",
        201,
        json={"type": "required_fields", "config": {"fields": ["email"]}},
    )
    job = leadco.ok(
        "POST",
        f"/campaigns/{ours['id']}/jobs",
        201,
        json={
            "type": "connect_delivery",
            "config": {
                "API_Key": key,
                "Subdomain": acme_sub,
                "Campaign": client_campaign["id"],
                "Field_mapping": {"company": "company", "email": "email"},
            },
        },
    )
    # LeadCo's own source of leads (its call center) submits through LeadCo's Publisher API.
    source = leadco.ok("POST", "/publishers", 201, json={"name": "Call center"})
    source_key = leadco.ok("POST", f"/publishers/{source['id']}/api-keys", 201)["key"]
    leadco.ok("PUT", f"/campaigns/{ours['id']}/publishers/{source['id']}", 204)
    return {
        "acme": acme,
        "leadco": leadco,
        "source": common.Api(base, leadco_sub, source_key),
        "key": key,
        "client_campaign": client_campaign["id"],
        "direct_campaign": direct["id"],
        "campaign": ours["id"],
        "job": job["id"],
    }


def delivered(url: str, job_id: int) -> tuple[int, list[float]]:
    """How many deliveries of the job are delivered, and their added latencies (s)."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            """SELECT extract(epoch FROM d.delivered_at - l.created_at)
               FROM deliveries d JOIN leads l ON l.id = d.lead_id
               WHERE d.job_id = %s AND d.state = 'delivered'""",
            (job_id,),
        ).fetchall()
    return len(rows), [float(r[0]) for r in rows]


def run(args: argparse.Namespace) -> str:
    m = common.machine()
    with common.bench_database("delivery") as url, tempfile.TemporaryDirectory() as logs:
        a_port, b_port = common.free_port(), common.free_port()
        env = common.server_env(
            url,
            a_port,
            LEADGATE_STALLED_AFTER_S="6",
            LEADGATE_WORKER_HEARTBEAT_S="2",
            LEADGATE_DELIVERY_RETRY_BASE_S="0.5",
            LEADGATE_DELIVERY_MAX_ATTEMPTS="50",
        )
        a = common.leadgate_serve("a", a_port, env, Path(logs)).start()
        b = common.leadgate_serve("b", b_port, env, Path(logs)).start()
        a.wait_http(f"http://127.0.0.1:{a_port}")
        b.wait_http(f"http://127.0.0.1:{b_port}")
        try:
            w = setup(url, f"http://127.0.0.1:{b_port}")
            acme_on_a = common.Api(f"http://127.0.0.1:{a_port}", w["acme"].subdomain, w["key"])
            leads = [
                {"company": f"Company {i}", "email": f"lead{i}@example.com"}
                for i in range(args.leads)
            ]

            pool = ThreadPoolExecutor(args.connections)

            def cpu() -> tuple[float, float]:
                """CPU seconds so far of both servers, and of the database's backends."""
                return (
                    common.cpu_seconds([a.pid, b.pid]),
                    common.cpu_seconds(common.backend_pids(url)),
                )

            def post_all(api: common.Api, path: str, part: list[int], prefix: str) -> None:
                def post(i: int) -> None:
                    headers = {"Idempotency-Key": f"{prefix}-{i}"}
                    api.ok("POST", path, 201, json={"data": leads[i]}, headers=headers)

                list(pool.map(post, part))

            # The naive way: the same leads posted straight to the client's Publisher API.
            cpu_before = cpu()
            start = time.perf_counter()
            direct_path = f"/publisher/campaigns/{w['direct_campaign']}/leads"
            post_all(acme_on_a, direct_path, list(range(args.leads)), "direct")
            direct_s = time.perf_counter() - start
            cpu_direct = [x - y for x, y in zip(cpu(), cpu_before, strict=True)]
            cpu_before = cpu()

            # Through Connect: submit to the publisher, wait until the client acknowledged all.
            # With --crash the submissions come in four parts with a SIGKILL of a server between
            # them (B, A, B), while the earlier parts are still being delivered.
            rng = random.Random(11)
            kills = sorted(rng.sample(range(1, args.leads), 3)) if args.crash else []
            bounds = [0, *kills, args.leads]
            start = time.perf_counter()
            ours = f"/publisher/campaigns/{w['campaign']}/leads"
            for n_part, (lo, hi) in enumerate(itertools.pairwise(bounds)):
                if args.rate:  # a steady trickle: lead i is sent at start + i/rate, on schedule

                    def paced(i: int) -> None:
                        time.sleep(max(0.0, start + i / args.rate - time.perf_counter()))
                        w["source"].ok(
                            "POST",
                            ours,
                            201,
                            json={"data": leads[i]},
                            headers={"Idempotency-Key": f"connect-{i}"},
                        )

                    list(pool.map(paced, range(lo, hi)))
                else:
                    post_all(w["source"], ours, list(range(lo, hi)), "connect")
                if n_part < len(kills):
                    victim = b if n_part != 1 else a
                    assert victim.proc is not None
                    victim.proc.kill()
                    victim.proc.wait()
                    time.sleep(rng.uniform(0.05, 0.5))
                    victim.start().wait_http(
                        f"http://127.0.0.1:{a_port if victim is a else b_port}"
                    )
            submitted_s = time.perf_counter() - start
            pool.shutdown()
            deadline = time.monotonic() + args.timeout
            while time.monotonic() < deadline:
                n, latencies = delivered(url, w["job"])
                if n == args.leads:
                    break
                time.sleep(0.2)
            total_s = time.perf_counter() - start
            cpu_connect = [x - y for x, y in zip(cpu(), cpu_before, strict=True)]
            n, latencies = delivered(url, w["job"])
            with psycopg.connect(url) as conn:
                at_client = conn.execute(
                    "SELECT count(*), count(DISTINCT data->>'email') FROM leads "
                    "WHERE campaign_id = %s",
                    (w["client_campaign"],),
                ).fetchone()
                # The attempts of one batch share their transaction's timestamp.
                batches = [
                    int(r[0])
                    for r in conn.execute(
                        "SELECT count(*) FROM delivery_attempts GROUP BY at"
                    ).fetchall()
                ]
            assert at_client is not None
        finally:
            a.stop()
            b.stop()

    mode = "crash (3 kills with SIGKILL while delivering)" if args.crash else "steady"
    if args.rate:
        mode += f", a trickle of {args.rate:g} leads/s through Connect"
    exactly_once = at_client[0] == at_client[1] == args.leads and n == args.leads
    rows = [
        [
            "Connect delivery (submit to publisher → acknowledged by client)",
            args.leads,
            f"{total_s:.1f}",
            f"{args.leads / total_s:.0f}",
            f"{common.median(latencies) * 1000:.0f}" if latencies else "-",
            f"{common.percentile(latencies, 99) * 1000:.0f}" if latencies else "-",
            # Killed processes take their CPU counters with them: no figure in crash mode.
            "-" if args.crash else f"{cpu_connect[0] * 1000 / args.leads:.2f}",
            "-" if args.crash else f"{cpu_connect[1] * 1000 / args.leads:.2f}",
        ],
        [
            "naive: the same leads posted directly to the client",
            args.leads,
            f"{direct_s:.1f}",
            f"{args.leads / direct_s:.0f}",
            "-",
            "-",
            f"{cpu_direct[0] * 1000 / args.leads:.2f}",
            f"{cpu_direct[1] * 1000 / args.leads:.2f}",
        ],
    ]
    lines = [
        "## Connect delivery (`bench/bench_delivery.py`)",
        "",
        *common.header_lines(common.command_line(), m),
        f"- mode: {mode}; leads submitted from this process over {args.connections} "
        f"connections ({submitted_s:.1f} s to submit through Connect); two `leadgate serve` "
        "processes on one database.",
        "",
        common.table(
            [
                "path",
                "leads",
                "seconds",
                "leads/s",
                "added latency p50 ms",
                "p99 ms",
                "server CPU ms/lead",
                "PostgreSQL CPU ms/lead",
            ],
            rows,
        ),
        "",
        "CPU per lead: user + system time of both `leadgate serve` processes, and of the "
        "PostgreSQL backends of the bench database, over each phase (from /proc; unlike the "
        "rates, it does not move with other load on the machine).",
        "",
        f"Ratio (through Connect / straight to the client): "
        f"**{(args.leads / total_s) / (args.leads / direct_s):.2f}**.",
        "",
        f"Batches sent: {len(batches):,} (leads per batch: mean "
        f"{sum(batches) / max(1, len(batches)):.1f}, median {common.median(batches):.0f}, "
        f"largest {max(batches, default=0)}).",
        "",
        f"At the client: {at_client[0]} leads, {at_client[1]} distinct; delivered rows: {n} of "
        f"{args.leads}. Exactly once: **{'yes' if exactly_once else 'NO'}**.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--leads", type=int, default=300, help="leads to deliver")
    parser.add_argument("--crash", action="store_true", help="kill -9 the servers meanwhile")
    parser.add_argument(
        "--connections", type=int, default=16, help="concurrent submissions (both paths)"
    )
    parser.add_argument(
        "--rate", type=float, default=0, help="submit through Connect at this many leads/s"
    )
    parser.add_argument("--timeout", type=float, default=600, help="seconds to wait for all")
    parser.add_argument("--out", default=None, help="result file (default results/delivery.md)")
    args = parser.parse_args(argv)
    text = run(args)
    print(text)
    name = "delivery-crash" if args.crash else "delivery"
    if args.out:
        Path(args.out).write_text(text + "\n")
    else:
        common.write_result(name, text)


if __name__ == "__main__":
    main()
