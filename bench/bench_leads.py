"""Lead submission hot path: sustained leads/s and latency of the publisher API under wrk.

    python bench/bench_leads.py [--values 1000000] [--duration 10] [--connections 16]
                                [--setups shipped,2p-fast] [--full] [--no-profile]

A campaign of 10 jobs (a validation list of `--values` company names, a 10,181-domain disposable
suppression list, a zip list, a competitor `contains` list, required fields, four simple
conditionals and a conditional) takes leads through
`POST /i/{sub}/api/v1/publisher/campaigns/{cid}/leads` with a publisher key. Load comes from
`wrk` (Lua script, 2,000 distinct lead bodies, ~half valid) in a separate process on loopback,
bounded by `--duration` per run. Each serving setup answers, in the same run, the floors of
bench/serve_app.py: `insert-only` (parse + one INSERT + commit) and `no-processr` (the real
publisher path minus judging). Server CPU per lead comes from /proc.

Also: an in-process breakdown of the hot path (time and SQL statements per step, no HTTP), and
a py-spy profile of one server process under load (where the CPU goes), unless --no-profile.
Writes bench/results/leads.md.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import disposable_email_domains
import httpx

import common
from bench_matching import company_list, make_pools

TARGET_RPS = 1000.0
TARGET_P99_MS = 25.0
FIELDS = ["company", "email", "country", "phone", "zip", "firstName", "age", "jobTitle"]
COUNTRIES = ["US", "CA", "GB", "DE", "FR"]
TITLES = ["CTO", "Head of IT", "Procurement Manager", "CEO", "Office Manager", "Engineer"]
FIRST = ["Kim", "Alex", "Maria", "John", "Priya", "Chen", "Lea", "Omar", "Sara", "Tom"]

LUA = r"""
local bodies = {}
for line in io.lines("%(bodies)s") do bodies[#bodies + 1] = line end
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer %(token)s"
local path = "%(path)s"
math.randomseed(os.time() + math.floor(os.clock() * 1000000))
request = function()
  return wrk.format(nil, path, nil, bodies[math.random(#bodies)])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {"requests":%%d,"duration_us":%%d,"connect":%%d,"read":%%d,"write":%%d,' ..
    '"status":%%d,"timeout":%%d,"p50":%%d,"p90":%%d,"p99":%%d,"p999":%%d,"max":%%d,' ..
    '"mean":%%.1f}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.max, latency.mean))
end
"""


# --- the world -------------------------------------------------------------------------------


@dataclass
class World:
    url: str
    sub: str
    instance_id: int
    token: str
    key: str
    campaign_id: int
    list_id: int
    jobs: list[dict[str, Any]] = field(default_factory=list)
    bodies: list[str] = field(default_factory=list)


def _post(client: Any, path: str, token: str, body: Any, status: int = 201) -> Any:
    r = client.request(
        "POST" if path[0] != "!" else "PUT",
        path.lstrip("!"),
        json=body,
        headers={"Authorization": f"Bearer {token}"},
    )
    if r.status_code != status:
        raise RuntimeError(f"{path}: {r.status_code} {r.text[:400]}")
    return r.json() if r.content else None


def build_world(url: str, size: int, seed: int = 11) -> World:
    """Instance, campaign with 10 jobs, publisher key, lists (the big one by COPY import)."""
    from fastapi.testclient import TestClient

    from leadgate.app import create_app
    from leadgate.config import Settings
    from leadgate.db import make_engine, make_sessionmaker
    from leadgate.instances.service import get_instance

    pools = make_pools(7)
    companies = company_list(pools, size)
    disposable = sorted(disposable_email_domains.blocklist)
    rng = random.Random(seed)
    zips = sorted({f"{rng.randint(10000, 99999)}" for _ in range(1200)})[:1000]
    competitors = [w for w in pools.words[:200]]

    sub, token = common.new_instance(url, "leads")
    with make_sessionmaker(make_engine(url))() as s:
        inst = get_instance(s, sub)
        assert inst is not None
        instance_id = inst.id
    app = create_app(Settings(), url)
    with TestClient(app, base_url="http://bench") as c:
        root = f"/i/{sub}/api/v1"
        campaign = _post(
            c,
            root + "/campaigns",
            token,
            {
                "name": "Bench B2B",
                "fields": [{"name": f} for f in FIELDS],
            },
        )
        cid = campaign["id"]
        pub = _post(c, root + "/publishers", token, {"name": "Bench Publisher"})
        key = _post(c, root + f"/publishers/{pub['id']}/api-keys", token, None)["key"]
        _post(c, "!" + root + f"/campaigns/{cid}/publishers/{pub['id']}", token, None, 204)
        big = _post(c, root + "/lists", token, {"name": "Target Accounts"})
        dom = _post(c, root + "/lists", token, {"name": "Disposable domains"})
        zl = _post(c, root + "/lists", token, {"name": "Service area zips"})
        comp = _post(c, root + "/lists", token, {"name": "Competitors"})
        jobs_spec = [
            (
                "validation_list",
                "Target accounts",
                {
                    "list_id": big["id"],
                    "field_name": "company",
                    "operator": "equal",
                    "rule": "pass",
                },
            ),
            (
                "validation_list",
                "No disposable email",
                {
                    "list_id": dom["id"],
                    "field_name": "email",
                    "operator": "endswith",
                    "rule": "fail",
                },
            ),
            (
                "validation_list",
                "Service area",
                {"list_id": zl["id"], "field_name": "zip", "operator": "equal", "rule": "pass"},
            ),
            (
                "validation_list",
                "No competitors",
                {
                    "list_id": comp["id"],
                    "field_name": "company",
                    "operator": "contains",
                    "rule": "fail",
                    "case_sensitive": True,
                },
            ),
            ("required_fields", "Required", {"fields": ["email", "company", "country"]}),
            (
                "simple_conditional_validation",
                "Countries",
                {"field_name": "country", "operator": "EQUAL", "values": COUNTRIES},
            ),
            (
                "simple_conditional_validation",
                "Phone prefix",
                {
                    "field_name": "phone",
                    "operator": "STARTSWITH",
                    "values": ["+1", "+44", "+49", "+33"],
                },
            ),
            (
                "simple_conditional_validation",
                "Adult",
                {"field_name": "age", "operator": "GREATERTHAN", "values": ["17"]},
            ),
            (
                "simple_conditional_validation",
                "No junk names",
                {
                    "field_name": "firstName",
                    "operator": "NOTEQUAL",
                    "values": ["test", "asdf", "none"],
                    "case_sensitive": False,
                },
            ),
            (
                "conditional_validation",
                "Email and title",
                {
                    "overall": "ALL",
                    "sections": [
                        {"field_name": "email", "operator": "CONTAINS", "values": ["@"]},
                        {"field_name": "jobTitle", "operator": "EXISTS"},
                    ],
                },
            ),
        ]
        jobs = []
        for i, (type_, label, config) in enumerate(jobs_spec):
            jobs.append(
                _post(
                    c,
                    root + f"/campaigns/{cid}/jobs",
                    token,
                    {
                        "type": type_,
                        "label": label,
                        "config": config,
                        "position": i + 1,
                    },
                )
            )
    common.import_values(url, sub, dom["id"], disposable)
    common.import_values(url, sub, zl["id"], zips)
    common.import_values(url, sub, comp["id"], competitors)
    seconds = common.import_values(url, sub, big["id"], companies)
    print(f"imported {size:,} values in {seconds:.1f} s", file=sys.stderr)

    bodies = []
    for _ in range(2000):
        company = rng.choice(companies) if rng.random() < 0.75 else rng.choice(pools.miss_companies)
        if rng.random() < 0.3:
            company = company.upper()
        domain = rng.choice(disposable) if rng.random() < 0.05 else rng.choice(pools.miss_domains)
        data = {
            "company": company,
            "email": f"{rng.choice(pools.users)}@{domain}",
            "country": rng.choice(COUNTRIES) if rng.random() < 0.95 else "BR",
            "phone": f"+{rng.choice(['1', '44', '49', '33'])} {rng.randint(200, 999)} "
            f"{rng.randint(1000000, 9999999)}",
            "zip": rng.choice(zips) if rng.random() < 0.95 else "00000",
            "firstName": rng.choice(FIRST) if rng.random() < 0.98 else "test",
            "age": rng.randint(18, 70) if rng.random() < 0.97 else 16,
            "jobTitle": rng.choice(TITLES),
        }
        bodies.append(common.dumps({"data": data}))
    return World(url, sub, instance_id, token, key, cid, big["id"], jobs, bodies)


# --- in-process breakdown ----------------------------------------------------------------------


def breakdown(world: World, n: int) -> str:
    """Time and SQL statements per step of the hot path, called in-process (no HTTP)."""
    from sqlalchemy import event

    from leadgate.db import make_engine, make_sessionmaker
    from leadgate.instances.service import authenticate
    from leadgate.kit.repository import TenantScope
    from leadgate.leads import service as leads
    from leadgate.processr import judging
    from leadgate.processr.engine import judge as decide
    from leadgate.processr.service import jobs_of
    from leadgate.publishers.publisher_endpoints import granted_campaign

    engine = make_engine(world.url)
    sessions = make_sessionmaker(engine)
    statements = [0]

    def count(*_: Any) -> None:
        statements[0] += 1

    event.listen(engine, "before_cursor_execute", count)
    steps: dict[str, list[float]] = defaultdict(list)
    stmts: dict[str, list[int]] = defaultdict(list)
    cpu: dict[str, list[float]] = defaultdict(list)
    bodies = [json.loads(b)["data"] for b in world.bodies]
    clock = time.perf_counter
    for i in range(n + 20):
        data = bodies[i % len(bodies)]
        marks: list[tuple[str, float, int, float]] = []

        def mark(name: str) -> None:
            marks.append((name, clock(), statements[0], time.thread_time()))  # noqa: B023

        mark("start")
        session = sessions()
        caller = authenticate(session, world.sub, world.key)
        mark("authenticate (key lookup)")
        scope = TenantScope(session, caller.instance_id)
        granted_campaign(scope, caller, world.campaign_id)
        mark("granted_campaign")
        lead = leads.accept(
            scope,
            world.campaign_id,
            dict(data),
            publisher_id=caller.publisher_id,
            request_hash=leads.request_hash(data),
        )
        mark("accept (lead + history rows)")
        session.commit()
        mark("commit #1 (lead stored)")
        jobs = jobs_of(scope, world.campaign_id)
        mark("judge: jobs_of")
        ctx = judging.context_for(session, scope.instance_id, jobs)
        mark("judge: context_for (lists, mirrors)")
        verdict = decide(lead.data, [judging.to_spec(j) for j in jobs], ctx)
        mark("judge: engine.judge (10 jobs)")
        judging.apply_verdict(scope, lead, verdict, trigger="received")
        mark("judge: apply_verdict (update + history)")
        leads.to_publisher_out(lead).model_dump_json()
        mark("answer (to_publisher_out)")
        session.commit()
        session.close()
        mark("commit #2 + close")
        if i < 20:
            continue  # warm-up: compiles the lists
        for (_, t0, s0, c0), (name, t1, s1, c1) in itertools.pairwise(marks):
            steps[name].append((t1 - t0) * 1000)
            stmts[name].append(s1 - s0)
            cpu[name].append((c1 - c0) * 1000)
        steps["total"].append((marks[-1][1] - marks[0][1]) * 1000)
        stmts["total"].append(marks[-1][2] - marks[0][2])
        cpu["total"].append((marks[-1][3] - marks[0][3]) * 1000)
    event.remove(engine, "before_cursor_execute", count)
    lean = _lean_in_process(world, bodies, n)
    total = common.median(steps["total"])
    rows = []
    for name, samples in steps.items():
        med = common.median(samples)
        rows.append(
            [
                name,
                f"{med:.3f}",
                f"{common.percentile(samples, 99):.2f}",
                f"{100 * med / total:.0f}%" if name != "total" else "100%",
                f"{common.median(cpu[name]):.3f}",
                f"{sum(stmts[name]) / len(stmts[name]):.1f}",
            ]
        )
    rows.append(
        [
            "**lean prototype** (bench/lean_path.py), whole path",
            f"{common.median(lean[0]):.3f}",
            f"{common.percentile(lean[0], 99):.2f}",
            f"{100 * common.median(lean[0]) / total:.0f}%",
            f"{common.median(lean[1]):.3f}",
            "2.0",
        ]
    )
    return common.table(
        ["step", "median ms", "p99 ms", "share", "CPU ms (this thread)", "SQL statements"],
        rows,
        "lrrrrr",
    )


def _lean_in_process(
    world: World, bodies: list[dict[str, Any]], n: int
) -> tuple[list[float], list[float]]:
    """(wall ms, CPU ms) per lead of the prototype, called directly."""
    from leadgate.db import make_engine
    from leadgate.leads import service as leads
    from lean_path import LeanPath

    lean = LeanPath(make_engine(world.url), pool_size=2)
    wall, cpu = [], []
    try:
        for i in range(n + 20):
            data = dict(bodies[i % len(bodies)])
            t0, c0 = time.perf_counter(), time.thread_time()
            lean.submit(world.sub, world.key, world.campaign_id, data, leads.request_hash(data))
            if i >= 20:
                wall.append((time.perf_counter() - t0) * 1000)
                cpu.append((time.thread_time() - c0) * 1000)
    finally:
        lean.pool.close()
    return wall, cpu


# --- serving setups --------------------------------------------------------------------------


@dataclass
class Setup:
    name: str
    description: str
    workers: int = 1
    fast: bool = False
    pool: int = 10
    inprocess_worker: bool = False
    cli: bool = False


SETUPS = {
    s.name: s
    for s in [
        Setup(
            "shipped",
            "as `leadgate serve`: 1 process, asyncio + h11, in-process task worker, pool 10",
            inprocess_worker=True,
        ),
        Setup(
            "1p",
            "1 API process (`--no-worker`), asyncio + h11, separate `leadgate worker`, pool 10",
        ),
        Setup("1p-fast", "1 API process, uvloop + httptools, separate worker, pool 10", fast=True),
        Setup("2p", "uvicorn `--workers 2`, asyncio + h11, separate worker, pool 10", workers=2),
        Setup(
            "2p-fast",
            "uvicorn `--workers 2`, uvloop + httptools, separate worker, pool 10",
            workers=2,
            fast=True,
        ),
        Setup(
            "2p-fast-pool5",
            "as 2p-fast with pool 5 (+5 overflow) per process",
            workers=2,
            fast=True,
            pool=5,
        ),
        Setup(
            "2p-fast-pool20",
            "as 2p-fast with pool 20 (+20 overflow) per process",
            workers=2,
            fast=True,
            pool=20,
        ),
        Setup(
            "3p-fast",
            "uvicorn `--workers 3`, uvloop + httptools, separate worker, pool 10",
            workers=3,
            fast=True,
        ),
    ]
}


def start_setup(setup: Setup, world: World, logs: Path) -> tuple[list[common.Proc], int]:
    port = common.free_port()
    env = common.server_env(world.url, port, deps=setup.fast, LEADGATE_DB_POOL_SIZE=str(setup.pool))
    if setup.inprocess_worker:
        env["BENCH_INPROCESS_WORKER"] = "1"
    procs = []
    server = common.uvicorn_factory(
        f"{setup.name}-api", port, env, logs, workers=setup.workers, fast=setup.fast
    ).start()
    procs.append(server)
    if not setup.inprocess_worker:
        procs.append(common.leadgate_worker(f"{setup.name}-worker", env, logs).start())
    server.wait_http(f"http://{common.LOOPBACK}:{port}")
    return procs, port


@dataclass
class Run:
    rps: float
    p50: float
    p90: float
    p99: float
    max: float
    errors: int
    requests: int
    server_cpu_ms: float
    pg_cpu_ms: float
    busy_cores: float = 0.0
    other_cores: float = 0.0


def wrk(
    port: int,
    path: str,
    token: str,
    bodies_file: Path,
    connections: int,
    duration: float,
    server_pids: list[int],
    threads: int = 2,
    db_url: str = "",
) -> Run:
    """One bounded wrk run; latencies in ms."""
    wrk_bin = common.tool("wrk")
    if wrk_bin is None:
        raise SystemExit("wrk is missing: apt-get install -y wrk")
    script = bodies_file.with_suffix(f".{abs(hash(path)) % 10000}.lua")
    script.write_text(LUA % {"bodies": bodies_file, "token": token, "path": path})

    def backends() -> list[int]:
        return common.backend_pids(db_url) if db_url else common.postgres_pids()

    # Per backend: those that close during the run drop out, those that open count whole.
    pg_start = {pid: common.cpu_seconds([pid]) for pid in backends()}
    cpu0, pg0, sys0, kids0 = (
        common.cpu_seconds(server_pids),
        0.0,
        common.busy(),
        common.children_cpu(),
    )
    wall0 = time.monotonic()
    out = subprocess.run(
        [
            wrk_bin,
            f"-t{min(threads, connections)}",
            f"-c{connections}",
            f"-d{max(1, round(duration))}s",
            "--timeout",
            "10s",
            "-s",
            str(script),
            f"http://{common.LOOPBACK}:{port}",
        ],
        capture_output=True,
        text=True,
        timeout=duration + 60,
    )
    cpu1, pg1, sys1, kids1 = (
        common.cpu_seconds(server_pids),
        sum(common.cpu_seconds([pid]) - pg_start.get(pid, 0.0) for pid in backends()),
        common.busy(),
        common.children_cpu(),
    )
    wall = time.monotonic() - wall0
    ours = (cpu1 - cpu0) + (pg1 - pg0) + (kids1 - kids0)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("BENCHJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk failed: {out.stdout} {out.stderr}")
    d = json.loads(line.split(" ", 1)[1])
    n = max(1, d["requests"])
    errors = d["connect"] + d["read"] + d["write"] + d["status"] + d["timeout"]
    return Run(
        rps=d["requests"] / (d["duration_us"] / 1e6),
        p50=d["p50"] / 1000,
        p90=d["p90"] / 1000,
        p99=d["p99"] / 1000,
        max=d["max"] / 1000,
        errors=errors,
        requests=d["requests"],
        server_cpu_ms=(cpu1 - cpu0) * 1000 / n,
        pg_cpu_ms=(pg1 - pg0) * 1000 / n,
        busy_cores=(sys1 - sys0) / wall,
        other_cores=max(0.0, (sys1 - sys0) - ours) / wall,
    )


def routes(world: World) -> dict[str, tuple[str, str]]:
    """name -> (path, secret) of the routes a setup is measured on."""
    return {
        "leads (Processr, 10 jobs)": (
            f"/i/{world.sub}/api/v1/publisher/campaigns/{world.campaign_id}/leads",
            world.key,
        ),
        "lean prototype (same verdict, 2 statements)": (
            f"/bench/i/{world.sub}/campaigns/{world.campaign_id}/lean",
            world.key,
        ),
        "floor: no-processr": (
            f"/bench/i/{world.sub}/campaigns/{world.campaign_id}/no-processr",
            world.key,
        ),
        "floor: insert-only": (
            f"/bench/i/{world.sub}/instances/{world.instance_id}/campaigns/"
            f"{world.campaign_id}/insert-only",
            world.key,
        ),
        "floor: no-db (framework only)": (
            f"/bench/i/{world.sub}/campaigns/{world.campaign_id}/no-db",
            world.key,
        ),
    }


def check_route(port: int, path: str, secret: str, body: str) -> str:
    r = httpx.post(
        f"http://{common.LOOPBACK}:{port}{path}",
        content=body,
        timeout=60,
        headers={"Authorization": f"Bearer {secret}", "content-type": "application/json"},
    )
    if r.status_code != 201:
        raise RuntimeError(f"{path}: {r.status_code} {r.text[:300]}")
    return str(r.json().get("status"))


# --- profile ---------------------------------------------------------------------------------

CATEGORIES: list[tuple[str, Callable[[str], bool]]] = [
    (
        "judge: engine.judge (jobs run, pydantic config validation)",
        lambda f: "judge (leadgate/processr/engine.py" in f,
    ),
    ("judge: apply_verdict (ORM update, history rows)", lambda f: "apply_verdict (" in f),
    ("judge: context_for (list versions, mirrors)", lambda f: "context_for (" in f),
    ("judge: jobs_of (load 10 jobs, ORM)", lambda f: "jobs_of (" in f),
    ("authenticate (key hash + lookup)", lambda f: "authenticate (" in f),
    ("granted_campaign", lambda f: "granted_campaign (" in f),
    ("accept (campaign, lead + history insert)", lambda f: "accept (leadgate/leads" in f),
    ("session.commit", lambda f: f.startswith("commit (") and "sqlalchemy" in f),
    (
        "to_publisher_out / response serialization",
        lambda f: "to_publisher_out (" in f or "serialize_response (" in f,
    ),
    (
        "request body parsing + validation",
        lambda f: (
            "request_body_to_args (" in f or "_extract_form_body" in f or "body (starlette" in f
        ),
    ),
    ("session close / pool checkin", lambda f: f.startswith("close (") and "sqlalchemy" in f),
    ("task worker (procrastinate)", lambda f: "procrastinate" in f),
]


def profile(setup: Setup, world: World, logs: Path, duration: float, connections: int) -> str:
    """py-spy on a 1-process server under wrk load: share of CPU samples per part of the path."""
    spy = common.tool("py-spy")
    if spy is None:
        return "(py-spy not installed: skipped)"
    procs, port = start_setup(setup, world, logs)
    try:
        path, secret = routes(world)["leads (Processr, 10 jobs)"]
        bodies_file = logs / "bodies.jsonl"
        wrk(port, path, secret, bodies_file, connections, 5, [])  # warm-up
        raw = logs / "profile.txt"
        spy_proc = subprocess.Popen(
            [
                spy,
                "record",
                "-p",
                str(procs[0].pid),
                "-d",
                str(int(duration)),
                "-r",
                "250",
                "-f",
                "raw",
                "-o",
                str(raw),
                "--nonblocking",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(0.5)
        run = wrk(port, path, secret, bodies_file, connections, duration, [procs[0].pid])
        spy_proc.wait(timeout=duration + 60)
    finally:
        for p in reversed(procs):
            p.stop()
    if not raw.exists():
        return "(py-spy produced no profile)"
    stacks: list[tuple[list[str], int]] = []
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            stacks.append((stack.split(";"), int(count)))
    total = sum(c for _, c in stacks)
    cat = Counter()
    self_time: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    for frames, c in stacks:
        short = [_short(f) for f in frames]
        leaf = short[-1]
        self_time[leaf] += c
        for f in set(short):
            inclusive[f] += c
        kind = _kind(leaf)
        kinds[kind] += c
        if kind != "running Python / C code":
            continue
        for name, test in CATEGORIES:
            if any(test(f) for f in short):
                cat[name] += c
                break
        else:
            cat["other (uvicorn, starlette, anyio threadpool, middleware, ...)"] += c
    running = max(1, kinds["running Python / C code"])
    lines = [
        f"py-spy, 250 samples/s of CPU (idle threads excluded) for {duration:.0f} s on the "
        f"`{setup.name}` server process while wrk ran {connections} connections on the leads "
        f"route ({run.rps:,.0f} leads/s during the profile, with py-spy's overhead). "
        f"{total:,} samples. py-spy counts a thread as active when it is not blocked in the "
        "kernel; under load, threads woken from a wait but not yet running also count, so the "
        "samples are first split by what the thread was doing (its innermost frame):",
        "",
        common.table(
            ["innermost frame", "share of samples"],
            [[k, f"{100 * v / total:.1f}%"] for k, v in kinds.most_common()],
            "lr",
        ),
        "",
        "Samples *running Python / C code*, by the part of the request on the stack (a sample "
        "counts for the first category that matches, top to bottom):",
        "",
        common.table(
            ["part of the request", "share of running samples"],
            [[k, f"{100 * v / running:.1f}%"] for k, v in cat.most_common()],
            "lr",
        ),
        "",
        "Top functions by inclusive share (on the stack) and by self share (the leaf):",
        "",
        common.table(
            ["inclusive", "function", "self", "function "],
            [
                [
                    f"{100 * a[1] / total:.1f}%",
                    f"`{a[0]}`",
                    f"{100 * b[1] / total:.1f}%",
                    f"`{b[0]}`",
                ]
                for a, b in zip(
                    inclusive.most_common(40)[:30], self_time.most_common(30), strict=False
                )
            ],
            "rlrl",
        ),
    ]
    return "\n".join(lines)


def _kind(leaf: str) -> str:
    """What a thread whose innermost frame is `leaf` was doing."""
    if leaf.startswith(("Connection.wait (psycopg", "wait (psycopg", "wait_c")):
        return "waiting for PostgreSQL (psycopg wait)"
    if leaf.startswith(
        (
            "Condition.wait (threading",
            "EpollSelector.select",
            "select (selectors",
            "Event.wait (threading",
            "Lock.acquire",
        )
    ):
        return "idle: threadpool or event loop waiting for work"
    return "running Python / C code"


def _short(frame: str) -> str:
    """`func (path/to/module.py:12)` -> `func (module.py)`; site-packages prefixes dropped."""
    name, _, where = frame.partition(" (")
    where = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("site-packages/", "src/", "lib/python3.11/"):
        if marker in where:
            where = where.split(marker, 1)[1]
    return f"{name} ({where})"


# --- the run ---------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> str:
    started = time.perf_counter()
    m = common.machine()
    setups = [SETUPS[s] for s in args.setups.split(",") if s]
    results: dict[str, dict[str, Run]] = {}
    sweep: list[list[Any]] = []
    with (
        common.bench_database("leads") as url,
        tempfile.TemporaryDirectory(prefix="bench-leads-") as tmp,
    ):
        logs = Path(tmp)
        world = build_world(url, args.values)
        bodies_file = logs / "bodies.jsonl"
        bodies_file.write_text("\n".join(world.bodies) + "\n")
        table_in = breakdown(world, args.breakdown)
        statuses = _status_mix(world)
        for setup in setups:
            procs, port = start_setup(setup, world, logs)
            try:
                api_pids = common.process_tree(procs[0].pid)
                results[setup.name] = {}
                for name, (path, secret) in routes(world).items():
                    check_route(port, path, secret, world.bodies[0])
                    wrk(port, path, secret, bodies_file, args.connections, args.warmup, [])
                    r = wrk(
                        port,
                        path,
                        secret,
                        bodies_file,
                        args.connections,
                        args.duration,
                        api_pids,
                        db_url=world.url,
                    )
                    results[setup.name][name] = r
                    print(setup.name, name, r, file=sys.stderr)
                if setup.name == args.sweep_setup:
                    path, secret = routes(world)["leads (Processr, 10 jobs)"]
                    for c in args.sweep:
                        r = wrk(
                            port,
                            path,
                            secret,
                            bodies_file,
                            c,
                            args.duration,
                            api_pids,
                            db_url=world.url,
                        )
                        sweep.append(
                            [c, r.rps, r.p50, r.p90, r.p99, r.max, r.other_cores, r.errors]
                        )
                        print("sweep", c, r, file=sys.stderr)
            finally:
                for p in reversed(procs):
                    p.stop()
        prof = ""
        if args.profile:
            prof = profile(SETUPS["1p"], world, logs, args.duration, args.connections)

    rows = []
    best_name, best = None, None
    for sname, by_route in results.items():
        lead = by_route["leads (Processr, 10 jobs)"]
        for rname, r in by_route.items():
            ratio = "1x" if r is lead else f"{r.rps / lead.rps:.2f}x"
            rows.append(
                [
                    sname,
                    rname,
                    f"{r.rps:,.0f}",
                    f"{r.p50:.1f}",
                    f"{r.p90:.1f}",
                    f"{r.p99:.1f}",
                    f"{r.max:.0f}",
                    f"{r.server_cpu_ms:.2f}",
                    f"{r.pg_cpu_ms:.2f}",
                    f"{r.other_cores:.2f}",
                    r.errors,
                    ratio,
                ]
            )
        if best is None or lead.rps > best.rps:
            best_name, best = sname, lead
    met = best is not None and best.rps >= TARGET_RPS and best.p99 <= TARGET_P99_MS
    lines = [
        "## Lead submission hot path (`bench/bench_leads.py`)",
        "",
        *common.header_lines(common.command_line(), m),
        f"- run time {time.perf_counter() - started:.0f} s",
        f"- campaign: 10 jobs — validation lists: {args.values:,} company names (`equal`, "
        "acceptance, case-insensitive), 10,181 disposable domains (`endswith`, suppression), "
        "1,000 zips (`equal`), 200 competitor words (`contains`, suppression); "
        "`required_fields`; simple conditionals EQUAL / STARTSWITH / GREATERTHAN / NOTEQUAL; "
        "one `conditional_validation` (ALL of CONTAINS + EXISTS). Verdicts of the leads "
        f"of the in-process run: {statuses}.",
        f"- load: `wrk -t2 -c{args.connections} -d{args.duration:g}s` + Lua script (random body "
        f"per request) from a separate process on 127.0.0.1, after a {args.warmup:g} s warm-up "
        "run per route; all processes (wrk, API, task worker, PostgreSQL) share the 2 cores.",
        "- routes on the same server: the real publisher route, and the bench-only floors of "
        "`bench/serve_app.py`: *no-processr* = the real route minus judging (key auth, grant, "
        "checks, lead + history insert, commit); *insert-only* = parse + one INSERT + commit.",
        "- CPU ms/req: CPU time of the API process(es), and of the PostgreSQL backends connected "
        "to the bench database (not the WAL writer or checkpointer), divided by requests; "
        "*other load* = "
        "cores busy during the run with work that was neither the API, PostgreSQL nor wrk "
        "(other engineers' test runs; of 2 cores).",
        "",
    ]
    if best is not None:
        lines += [
            "### Sustained throughput and latency",
            "",
            "Setups: " + "; ".join(f"**{s.name}** = {s.description}" for s in setups) + ".",
            "",
            common.table(
                [
                    "setup",
                    "route",
                    "req/s",
                    "p50 ms",
                    "p90 ms",
                    "p99 ms",
                    "max ms",
                    "API CPU ms/req",
                    "PG CPU ms/req",
                    "other load (cores)",
                    "errors",
                    "vs leads route",
                ],
                rows,
                "llrrrrrrrrrr",
            ),
            "",
            f"Best Processr setup: **{best_name}**, {best.rps:,.0f} leads/s at p99 "
            f"{best.p99:.1f} ms "
            f"(c={args.connections}). Target (issue 4) ≥ {TARGET_RPS:,.0f} leads/s with p99 ≤ "
            f"{TARGET_P99_MS:.0f} ms: {common.verdict(met)}.",
            "",
        ]
    if sweep:
        lines += [
            f"### Connections sweep ({args.sweep_setup}, leads route)",
            "",
            common.table(
                [
                    "connections",
                    "leads/s",
                    "p50 ms",
                    "p90 ms",
                    "p99 ms",
                    "max ms",
                    "other load (cores)",
                    "errors",
                ],
                [
                    [c, f"{a:,.0f}", f"{b:.1f}", f"{d:.1f}", f"{e:.1f}", f"{f:.0f}", f"{o:.2f}", g]
                    for c, a, b, d, e, f, o, g in sweep
                ],
            ),
            "",
        ]
    lines += [
        "### Where a lead's time goes, in-process (no HTTP, one session, sequential)",
        "",
        f"The steps of `submit_lead` called directly ({args.breakdown} leads after 20 warm-up "
        "leads), with the SQL statements each step sends (SQLAlchemy `before_cursor_execute`):",
        "",
        table_in,
        "",
    ]
    if prof:
        lines += ["### Profile of the server under load", "", prof, ""]
    return "\n".join(lines)


def _status_mix(world: World) -> str:
    from sqlalchemy import func, select

    from leadgate.db import make_engine, make_sessionmaker
    from leadgate.leads.models import Lead

    with make_sessionmaker(make_engine(world.url))() as s:
        rows = s.execute(select(Lead.status, func.count()).group_by(Lead.status)).all()
    total = sum(n for _, n in rows) or 1
    return ", ".join(f"{st} {100 * n / total:.0f}%" for st, n in sorted(rows))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--values", type=int, default=1_000_000, help="size of the big list")
    parser.add_argument("--duration", type=float, default=10, help="seconds per wrk run")
    parser.add_argument("--warmup", type=float, default=4, help="seconds of warm-up per route")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections")
    parser.add_argument(
        "--setups", default="shipped,2p-fast", help=f"comma-separated, from: {', '.join(SETUPS)}"
    )
    parser.add_argument("--sweep", default="", help="connection counts to sweep, e.g. 1,4,16,64")
    parser.add_argument("--sweep-setup", default="2p-fast", help="setup the sweep runs on")
    parser.add_argument("--breakdown", type=int, default=300, help="leads in the in-process run")
    parser.add_argument(
        "--no-profile", dest="profile", action="store_false", help="skip the py-spy profile"
    )
    parser.add_argument(
        "--full",
        action="store_true",
        help="every setup, 15 s runs, sweep 1,4,16,64 (about 15 minutes)",
    )
    args = parser.parse_args(argv)
    if args.full:
        args.setups = ",".join(SETUPS)
        args.duration = max(args.duration, 15)
        args.sweep = args.sweep or "1,4,16,64"
    args.sweep = [int(x) for x in args.sweep.split(",") if x]
    common.write_result("leads", run(args))


if __name__ == "__main__":
    main()
