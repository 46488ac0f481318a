"""Scale-out: two API processes behind HAProxy, beside one process direct (issue 16).

    python bench/bench_scale.py [--duration 10] [--connections 16]

One campaign (required fields + a simple conditional) takes leads through the Publisher API
from `wrk`: first straight to one `leadgate serve --no-worker`, then through Debian's HAProxy
(round robin, `/readyz` health checks) in front of two such processes on their own ports, with a
`leadgate worker` beside them in both runs. Everything shares the 2 cores, so the second setup
shows what the load balancer and a second process cost or bring on one machine, not what a
second machine would. Writes bench/results/scale.md.
"""

from __future__ import annotations

import argparse
import random
import subprocess
import tempfile
import time
from pathlib import Path

import httpx

import common
from bench_leads import Run, wrk

HAPROXY = """
global
    maxconn 2000
defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
frontend leadgate
    bind 127.0.0.1:{port}
    default_backend api
backend api
    balance roundrobin
    option httpchk GET /readyz
    http-reuse always
    default-server inter 1s fall 2 rise 2
{servers}
"""


def _ready(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} not ready")


def _world(url: str, base: str, logs: Path) -> tuple[str, str, Path]:
    sub, token = common.new_instance(url, "scale")
    api = common.Api(base, sub, token)
    form = [{"name": f} for f in ("email", "company", "country")]
    cid = api.ok("POST", "/campaigns", 201, json={"name": "Scale", "fields": form})["id"]
    for job in (
        {"type": "required_fields", "config": {"fields": ["email", "company"]}},
        {
            "type": "simple_conditional_validation",
            "config": {"field_name": "country", "operator": "EQUAL", "values": ["US", "GB"]},
        },
    ):
        api.ok("POST", f"/campaigns/{cid}/jobs", 201, json=job)
    pub = api.ok("POST", "/publishers", 201, json={"name": "Scale"})
    key = api.ok("POST", f"/publishers/{pub['id']}/api-keys", 201)["key"]
    api.ok("PUT", f"/campaigns/{cid}/publishers/{pub['id']}", 204)
    rng = random.Random(5)
    bodies = logs / "bodies.jsonl"
    lines = [
        common.dumps(
            {
                "data": {
                    "email": f"u{i}@co.example",
                    "company": f"Co {i}",
                    "country": rng.choice(["US", "GB", "DE"]),
                }
            }
        )
        for i in range(2000)
    ]
    bodies.write_text("\n".join(lines) + "\n")
    return f"/i/{sub}/api/v1/publisher/campaigns/{cid}/leads", key, bodies


def run(args: argparse.Namespace) -> str:
    started = time.perf_counter()
    m = common.machine()
    results: list[tuple[str, Run]] = []
    with (
        common.bench_database("scale") as url,
        tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp,
    ):
        logs = Path(tmp)
        ports = [common.free_port(), common.free_port()]
        front = common.free_port()
        env = common.server_env(url, front, LEADGATE_RATE_LIMIT_REQUESTS="1000000000")
        apis = [
            common.leadgate_serve(f"api{n}", p, env, logs, worker=False).start()
            for n, p in enumerate(ports)
        ]
        worker = common.leadgate_worker("worker", env, logs).start()
        haproxy = None
        try:
            for p in ports:
                _ready(f"http://{common.LOOPBACK}:{p}")
            path, key, bodies = _world(url, f"http://{common.LOOPBACK}:{ports[0]}", logs)
            pids = common.process_tree(apis[0].pid)
            wrk(ports[0], path, key, bodies, args.connections, args.warmup, [])
            one = wrk(
                ports[0], path, key, bodies, args.connections, args.duration, pids, db_url=url
            )
            results.append(("one API process, direct", one))
            servers = "\n".join(
                f"    server api{n} {common.LOOPBACK}:{p} check" for n, p in enumerate(ports)
            )
            cfg = logs / "haproxy.cfg"
            cfg.write_text(HAPROXY.format(port=front, servers=servers))
            haproxy = subprocess.Popen(
                ["haproxy", "-db", "-f", str(cfg)],
                stdout=(logs / "haproxy.log").open("wb"),
                stderr=subprocess.STDOUT,
            )
            _ready(f"http://{common.LOOPBACK}:{front}")
            both = [pid for a in apis for pid in common.process_tree(a.pid)]
            wrk(front, path, key, bodies, args.connections, args.warmup, [])
            two = wrk(front, path, key, bodies, args.connections, args.duration, both, db_url=url)
            results.append(("two API processes behind HAProxy", two))
        finally:
            if haproxy is not None:
                haproxy.terminate()
                haproxy.wait(timeout=10)
            worker.stop()
            for a in apis:
                a.stop()
    base = results[0][1]
    rows = [
        [
            name,
            f"{r.rps:,.0f}",
            f"{r.p50:.1f}",
            f"{r.p99:.1f}",
            f"{r.server_cpu_ms:.2f}",
            f"{r.pg_cpu_ms:.2f}",
            f"{r.other_cores:.2f}",
            r.errors,
            f"{r.rps / base.rps:.2f}x",
        ]
        for name, r in results
    ]
    lines = [
        "## Scale-out behind HAProxy (`bench/bench_scale.py`)",
        "",
        *common.header_lines(common.command_line(), m),
        f"- run time {time.perf_counter() - started:.0f} s",
        "- campaign: required fields + a simple conditional; `wrk -t2 "
        f"-c{args.connections} -d{args.duration:g}s`, one body per request from 2,000; a "
        f"{args.warmup:g} s warm-up run per setup; a `leadgate worker` beside the API processes "
        "in both; HAProxy 2.6 (Debian), round robin, `http-reuse always`, checks on `/readyz`. "
        "All of it on the same 2 cores.",
        "",
        common.table(
            [
                "setup",
                "leads/s",
                "p50 ms",
                "p99 ms",
                "API CPU ms/req",
                "PG CPU ms/req",
                "other load (cores)",
                "errors",
                "vs direct",
            ],
            rows,
            "lrrrrrrrr",
        ),
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=10, help="seconds per wrk run")
    parser.add_argument("--warmup", type=float, default=3, help="seconds of warm-up per setup")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections")
    text = run(parser.parse_args())
    common.write_result("scale", text)


if __name__ == "__main__":
    main()
