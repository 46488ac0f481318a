"""Shared helpers of the benchmarks: machine facts, databases, server processes, HTTP set-up.

Every benchmark creates its own PostgreSQL database named `bench_*` on the server of
`BENCH_PG_ADMIN` (default: the local server on 127.0.0.1:5432, trust auth) and drops it at the end.
Servers and load generators run as separate processes on 127.0.0.1 only.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import platform
import resource
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
# BENCH_RESULTS redirects the result files (e.g. to try the scripts without touching these).
RESULTS = Path(os.environ.get("BENCH_RESULTS", BENCH / "results"))
DEPS = Path(os.environ.get("BENCH_DEPS", BENCH / ".deps"))
PG_ADMIN = os.environ.get("BENCH_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")
LOOPBACK = "127.0.0.1"
MB = 1024 * 1024


# --- facts about the run ---------------------------------------------------------------------


def _sh(cmd: str) -> str:
    try:
        return subprocess.run(
            cmd, shell=True, capture_output=True, text=True, timeout=10
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "?"


def machine() -> dict[str, str]:
    """uname, cores, memory, Python, PostgreSQL and the load when the run started."""
    mem_kb = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    try:
        with psycopg.connect(PG_ADMIN, connect_timeout=3) as conn:
            row = conn.execute("SHOW server_version").fetchone()
            pg = str(row[0]) if row else "?"
    except psycopg.Error:
        pg = "?"
    return {
        "uname": _sh("uname -a"),
        "nproc": str(os.cpu_count()),
        "memory": f"{mem_kb / 1024 / 1024:.1f} GiB",
        "python": platform.python_version(),
        "postgresql": pg,
        "load": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def header_lines(command: str, m: dict[str, str] | None = None) -> list[str]:
    """The lines every result file starts with."""
    m = m or machine()
    return [
        f"- date: {m['date']}",
        f"- machine: `{m['uname']}`; nproc {m['nproc']}; memory {m['memory']}; "
        f"Python {m['python']}; PostgreSQL {m['postgresql']} (local server, loopback)",
        f"- load average at start: {m['load']} (a shared 2-core VM: other engineers' tests may "
        "have been running during the measurement)",
        f"- command: `{command}`",
    ]


def command_line() -> str:
    """How this script was started, for the report."""
    script = Path(sys.argv[0])
    with contextlib.suppress(ValueError):
        script = script.resolve().relative_to(ROOT)
    return " ".join(["python", str(script), *sys.argv[1:]])


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], align: str = "") -> str:
    """A Markdown table; `align` has one letter per column (l or r), default right for numbers."""
    if not align:
        align = "".join(
            "r" if rows and isinstance(rows[0][i], int | float) else "l"
            for i in range(len(headers))
        )
    sep = ["---:" if a == "r" else "---" for a in align]
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join(sep) + "|"]
    for row in rows:
        out.append("| " + " | ".join(fmt(c) for c in row) + " |")
    return "\n".join(out)


def fmt(x: Any) -> str:
    """Numbers with thousands separators and sensible precision."""
    if isinstance(x, bool) or x is None:
        return "-" if x is None else ("yes" if x else "no")
    if isinstance(x, int):
        return f"{x:,}"
    if isinstance(x, float):
        if x >= 100:
            return f"{x:,.0f}"
        if x >= 10:
            return f"{x:.1f}"
        return f"{x:.2f}"
    return str(x)


def verdict(ok: bool) -> str:
    return "**met**" if ok else "**not met**"


def write_result(name: str, markdown: str) -> Path:
    """Write bench/results/<name>.md and print it."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.md"
    path.write_text(markdown.rstrip() + "\n")
    print(markdown)
    shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    print(f"\n(written to {shown})")
    return path


def percentile(samples: Sequence[float], p: float) -> float:
    """The p-th percentile (nearest rank) of the samples."""
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    k = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


def median(samples: Sequence[float]) -> float:
    return statistics.median(samples) if samples else float("nan")


# --- databases -------------------------------------------------------------------------------


@contextmanager
def bench_database(tag: str, keep: bool = False) -> Iterator[str]:
    """A fresh, migrated database `bench_<tag>_<pid>`, dropped afterwards (unless keep)."""
    from leadgate.db import make_engine, migrate

    name = f"bench_{tag}_{os.getpid()}"
    base = PG_ADMIN.rsplit("/", 1)[0]
    url = f"{base}/{name}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        migrate(url)
        yield url
    finally:
        for size in (5, 10, 20):
            make_engine(url, size).dispose()
        make_engine.cache_clear()
        if not keep:
            with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def new_instance(url: str, prefix: str) -> tuple[str, str]:
    """A new instance (unique subdomain); returns (subdomain, admin token)."""
    from leadgate.db import make_engine, make_sessionmaker, transaction
    from leadgate.users.service import create_instance

    sub = f"{prefix}-{secrets.token_hex(3)}"
    with transaction(make_sessionmaker(make_engine(url))) as session:
        created = create_instance(session, sub)
    return sub, created.admin_token


def csv_body(values: Sequence[str], header: str | None = "company") -> bytes:
    """A one-column CSV; values holding a comma or a quote are quoted."""
    lines = [header] if header else []
    for v in values:
        lines.append('"' + v.replace('"', '""') + '"' if ("," in v or '"' in v) else v)
    return ("\n".join(lines) + "\n").encode()


def import_values(url: str, instance_subdomain: str, list_id: int, values: Sequence[str]) -> float:
    """Replace a list's values through lists.service.import_csv (COPY); returns seconds."""
    from leadgate.db import make_engine, make_sessionmaker, transaction
    from leadgate.instances.service import get_instance
    from leadgate.kit.repository import TenantScope
    from leadgate.lists.service import import_csv

    body = csv_body(values, header=None)
    start = time.perf_counter()
    with transaction(make_sessionmaker(make_engine(url))) as session:
        inst = get_instance(session, instance_subdomain)
        assert inst is not None
        import_csv(TenantScope(session, inst.id), list_id, body, "replace", header="no")
    return time.perf_counter() - start


# --- processes -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


def server_env(
    database_url: str, template_port: int, deps: bool = False, **extra: str
) -> dict[str, str]:
    """Environment of a server process of the benchmark deployment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEADGATE_")}
    if os.environ.get("LEADGATE_SECRET_KEY"):  # else every process reads .leadgate/secret.key
        env["LEADGATE_SECRET_KEY"] = os.environ["LEADGATE_SECRET_KEY"]
    env.update(
        DATABASE_URL=database_url,
        LEADGATE_INSTANCE_URL=f"http://{LOOPBACK}:{template_port}/i/{{subdomain}}",
        LEADGATE_RATE_LIMIT_REQUESTS="100000000",
        LEADGATE_OUTBOUND_TIMEOUT_S="10",
    )
    paths = [str(BENCH)]
    if deps and DEPS.exists():
        paths.append(str(DEPS))
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env.update(extra)
    return env


class Proc:
    """A child process (server or worker) with its log; stopped with SIGTERM, then SIGKILL."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.argv = argv
        self.env = env
        self.log = log_dir / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Proc:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                self.argv, env=self.env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT
            )
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def wait_http(self, url: str, timeout: float = 90.0) -> Proc:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.tail()}")
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not start: {self.tail()}")

    def tail(self, n: int = 3000) -> str:
        try:
            return self.log.read_text(errors="replace")[-n:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def leadgate_serve(
    name: str, port: int, env: dict[str, str], log_dir: Path, *, worker: bool = True
) -> Proc:
    """`leadgate serve` as shipped (API + in-process worker unless worker=False)."""
    argv = [sys.executable, "-m", "leadgate", "serve", "--port", str(port)]
    if not worker:
        argv.append("--no-worker")
    return Proc(name, argv, env, log_dir)


def leadgate_worker(name: str, env: dict[str, str], log_dir: Path, concurrency: int = 4) -> Proc:
    """`leadgate worker` alone."""
    argv = [sys.executable, "-m", "leadgate", "worker", "--concurrency", str(concurrency)]
    return Proc(name, argv, env, log_dir)


def uvicorn_factory(
    name: str,
    port: int,
    env: dict[str, str],
    log_dir: Path,
    *,
    workers: int = 1,
    loop: str = "asyncio",
    http: str = "h11",
) -> Proc:
    """uvicorn running bench/serve_app.py:create (the real app plus bench-only routes).

    `loop="auto", http="auto"` is uvicorn's own choice, as `leadgate serve` makes it (uvloop and
    httptools, product dependencies); the default keeps the asyncio loop and the h11 parser."""
    argv = [
        sys.executable,
        "-m",
        "uvicorn",
        "serve_app:create",
        "--factory",
        "--host",
        LOOPBACK,
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    argv += ["--loop", loop, "--http", http]
    return Proc(name, argv, env, log_dir)


def process_tree(pid: int) -> list[int]:
    """The pid and all its descendants (from /proc)."""
    out = [pid]
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                for child in f.read().split():
                    out.extend(process_tree(int(child)))
    except OSError:
        pass
    return out


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    """Resident memory (VmRSS) or its peak (VmHWM) of one process, in MB."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def cpu_seconds(pids: Sequence[int]) -> float:
    """User + system CPU seconds used so far by these processes (from /proc)."""
    total = 0.0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                parts = f.read().rsplit(")", 1)[1].split()
            total += (int(parts[11]) + int(parts[12])) / 100.0
        except (OSError, IndexError):
            pass
    return total


def postgres_pids() -> list[int]:
    """Every `postgres` process on the machine (the server is shared)."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "postgres":
                    out.append(int(entry.name))
            except OSError:
                pass
    return out


def backend_pids(url: str) -> list[int]:
    """PostgreSQL backends connected to the database of `url` (not those of other tests)."""
    name = url.rsplit("/", 1)[1].split("?")[0]
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s", (name,)
        ).fetchall()
    return [int(r[0]) for r in rows]


def busy() -> float:
    """CPU seconds the whole machine has been busy (all cores), from /proc/stat."""
    with open("/proc/stat") as f:
        parts = [int(x) for x in f.readline().split()[1:]]
    idle = parts[3] + parts[4]
    return (sum(parts[:8]) - idle) / 100.0


def children_cpu() -> float:
    """CPU seconds of this process's waited-for children (e.g. a finished wrk)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class RssSampler:
    """Samples the resident memory of a process tree every `interval` s in a thread."""

    def __init__(self, pid: int, interval: float = 0.01) -> None:
        self.pid = pid
        self.interval = interval
        self.peak = 0.0
        self.baseline = sum(rss_mb(p) for p in process_tree(pid))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, sum(rss_mb(p) for p in process_tree(self.pid)))
            time.sleep(self.interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def tool(name: str) -> str | None:
    """A command from PATH or from the bench deps folder."""
    found = shutil.which(name)
    if found:
        return found
    candidate = DEPS / "bin" / name
    return str(candidate) if candidate.exists() else None


# --- HTTP --------------------------------------------------------------------------------------


class Api:
    """Calls to one instance's API with one secret."""

    def __init__(self, base: str, subdomain: str, secret: str, timeout: float = 120.0) -> None:
        self.root = f"{base}/i/{subdomain}/api/v1"
        self.subdomain = subdomain
        self.secret = secret
        self.client = httpx.Client(headers={"Authorization": f"Bearer {secret}"}, timeout=timeout)

    def call(self, method: str, path: str, **kw: Any) -> httpx.Response:
        return self.client.request(method, self.root + path, **kw)

    def ok(self, method: str, path: str, status: int = 200, **kw: Any) -> Any:
        r = self.call(method, path, **kw)
        if r.status_code != status:
            raise RuntimeError(f"{method} {path}: {r.status_code} {r.text[:500]}")
        return r.json() if r.content else None

    def close(self) -> None:
        self.client.close()


def dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"))


# --- set-up through the API, in-process ---------------------------------------------------------


class LocalApi:
    """The admin API of one instance through FastAPI's TestClient (set-up only, no server)."""

    def __init__(self, url: str, subdomain: str, token: str) -> None:
        from fastapi.testclient import TestClient

        from leadgate.app import create_app
        from leadgate.config import Settings

        self.root = f"/i/{subdomain}/api/v1"
        self.client = TestClient(create_app(Settings(), url), base_url="http://bench")
        self.token = token

    def ok(self, method: str, path: str, status: int = 200, **kw: Any) -> Any:
        headers = {"Authorization": f"Bearer {kw.pop('secret', self.token)}"}
        r = self.client.request(method, self.root + path, headers=headers, **kw)
        if r.status_code != status:
            raise RuntimeError(f"{method} {path}: {r.status_code} {r.text[:400]}")
        return r.json() if r.content else None


@dataclass
class Client:
    """A client instance with a campaign granted to a publisher key, and visible list jobs."""

    subdomain: str
    token: str
    instance_id: int
    campaign_id: int
    publisher_id: int
    key: str
    lists: dict[str, int]
    jobs: dict[str, int]


def client_world(
    url: str, lists: dict[str, Sequence[str]], fields: Sequence[str] = ("company",)
) -> Client:
    """acme-like client: campaign, publisher key with a grant, one visible `equal` job per list.

    List values go in with `lists.service.import_csv` (COPY)."""
    from leadgate.db import make_engine, make_sessionmaker
    from leadgate.instances.service import get_instance

    sub, token = new_instance(url, "client")
    with make_sessionmaker(make_engine(url))() as s:
        inst = get_instance(s, sub)
        assert inst is not None
        instance_id = inst.id
    api = LocalApi(url, sub, token)
    campaign = api.ok(
        "POST", "/campaigns", 201, json={"name": "Client", "fields": [{"name": f} for f in fields]}
    )
    pub = api.ok("POST", "/publishers", 201, json={"name": "Publisher"})
    key = api.ok("POST", f"/publishers/{pub['id']}/api-keys", 201)["key"]
    api.ok("PUT", f"/campaigns/{campaign['id']}/publishers/{pub['id']}", 204)
    list_ids, job_ids = {}, {}
    for i, (name, values) in enumerate(lists.items()):
        row = api.ok("POST", "/lists", 201, json={"name": name})
        list_ids[name] = row["id"]
        if values:
            import_values(url, sub, row["id"], values)
        job = api.ok(
            "POST",
            f"/campaigns/{campaign['id']}/jobs",
            201,
            json={
                "type": "validation_list",
                "label": name,
                "visible_to_publishers": True,
                "position": i + 1,
                "config": {
                    "list_id": row["id"],
                    "field_name": fields[0],
                    "operator": "equal",
                    "rule": "pass",
                },
            },
        )
        job_ids[name] = job["id"]
    api.client.close()
    return Client(sub, token, instance_id, campaign["id"], pub["id"], key, list_ids, job_ids)


class RoundTrips(psycopg.AsyncConnection[Any]):
    """An AsyncConnection that counts its round trips: `wait` runs each message (of one or more
    statements, BEGIN and COMMIT included) and its answer, cursors' too."""

    statements = 0

    async def wait(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        self.statements += 1
        return await super().wait(*args, **kwargs)
