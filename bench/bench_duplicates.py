"""The duplicate check against many earlier leads: its CPU per lead and the probe's plan.

    python bench/bench_duplicates.py [--sizes 1000000,10000000] [--leads 3000] [--batch 64]

A campaign with one `duplicate_check` (email, campaign scope, 90 days) and, beside it, the same
campaign without it. For each size (ascending; each adds the missing earlier leads, seeded with
set-based `INSERT ... SELECT generate_series`: a lead and its key per earlier lead, spread over
80 days):

- the probe's `EXPLAIN (ANALYZE, BUFFERS)` for one batch of `--batch` keys, half of them held by
  an earlier lead (one index probe per key: an Index Only Scan of `ix_lead_keys_probe`);
- the fast intake driver (`intake_fast`, autocommit connection) back to back on batches of
  `--batch` new leads (5 % duplicates of earlier leads), with and without the duplicate check:
  wall, CPU of this process and of the database's backends per lead, round trips per batch;
- the duplicate check's own Python CPU per lead, no database (the claims, the lock and probe
  parameters, the answers, `run`, the key rows), measured once.

Writes bench/results/duplicates.md. Also used by bench_leads.py (`seed_earlier_leads`) for its
12-job campaign.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import random
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import psycopg

import common

SEED = """
WITH ins AS (
    INSERT INTO leads (instance_id, campaign_id, publisher_id, data, status, score, max_score,
                       flags, jobs, created_at, judged_at)
    SELECT %(instance_id)s, %(campaign_id)s, %(publisher_id)s,
           jsonb_build_object('email', 'earlier' || g || '@bench.example'),
           'valid', 10, 10, '[]', '[]', now() - make_interval(days => (g %% 80)::int), now()
    FROM generate_series(%(first)s::bigint, %(last)s::bigint) AS g
    RETURNING id, instance_id, created_at, data
)
INSERT INTO lead_keys (lead_id, instance_id, scope_ref, hash, at, state)
SELECT id, instance_id, %(scope_ref)s, sha256(convert_to(data ->> 'email', 'UTF8')),
       created_at, 'valid'
FROM ins
"""
CHUNK = 250_000


def earlier_email(n: int) -> str:
    """The email of the n-th seeded earlier lead (1-based)."""
    return f"earlier{n}@bench.example"


def seed_earlier_leads(
    url: str, instance_id: int, campaign_id: int, publisher_id: int, first: int, last: int
) -> float:
    """Earlier leads first..last of the campaign (valid, within 80 days), each with the key a
    campaign-scope duplicate check of `email` claims; returns seconds."""
    from leadgate.jobs.duplicate_check import scope_ref
    from leadgate.processr.plugin import Origin

    ref = scope_ref("campaign", Origin(campaign_id, publisher_id))
    started = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        for start in range(first, last + 1, CHUNK):
            params = {
                "instance_id": instance_id,
                "campaign_id": campaign_id,
                "publisher_id": publisher_id,
                "first": start,
                "last": min(last, start + CHUNK - 1),
                "scope_ref": ref,
            }
            conn.execute(SEED, params)
            print(f"seeded earlier leads up to {params['last']:,}", file=sys.stderr)
        conn.execute("ANALYZE leads")
        conn.execute("VACUUM (ANALYZE) lead_keys")  # index-only probes: the visibility map
    return time.perf_counter() - started


@dataclass
class World:
    url: str
    sub: str
    instance_id: int
    key: str
    publisher_id: int
    with_check: int
    without_check: int


def build_world(url: str) -> World:
    """An instance, a publisher, a campaign with the duplicate check and one without it."""
    from leadgate.db import make_engine, make_sessionmaker
    from leadgate.instances.service import get_instance

    sub, token = common.new_instance(url, "dups")
    with make_sessionmaker(make_engine(url))() as s:
        inst = get_instance(s, sub)
        assert inst is not None
        instance_id = inst.id
    api = common.LocalApi(url, sub, token)
    fields = [{"name": "email"}, {"name": "company"}]
    pub = api.ok("POST", "/publishers", 201, json={"name": "Publisher"})
    key = api.ok("POST", f"/publishers/{pub['id']}/api-keys", 201)["key"]
    ids = []
    for name in ("With the duplicate check", "Without it"):
        cid = api.ok("POST", "/campaigns", 201, json={"name": name, "fields": fields})["id"]
        api.ok("PUT", f"/campaigns/{cid}/publishers/{pub['id']}", 204)
        ids.append(cid)
    api.ok(
        "POST",
        f"/campaigns/{ids[0]}/jobs",
        201,
        json={"type": "duplicate_check", "config": {"field_name": "email"}},
    )
    api.client.close()
    return World(url, sub, instance_id, key, pub["id"], ids[0], ids[1])


# --- the probe's plan -------------------------------------------------------------------------


def probe_plan(world: World, size: int, batch: int, rng: random.Random) -> tuple[str, float]:
    """EXPLAIN (ANALYZE, BUFFERS) of the probe for `batch` keys, half held by earlier leads;
    returns the plan and its execution time in ms."""
    from leadgate.jobs.duplicate_check import DuplicateCheckConfig, DuplicateCheckJob
    from leadgate.leads.keys import Claimant, Earliers
    from leadgate.leads.repository import PROBE_KEYS
    from leadgate.processr.plugin import Origin

    job, config = DuplicateCheckJob(), DuplicateCheckConfig()
    origin = Origin(world.with_check, world.publisher_id)
    claimants = []
    for i in range(batch):
        email = earlier_email(rng.randint(1, size)) if i % 2 else f"new{i}.{rng.random()}@x.io"
        claims = tuple(job.claimed_keys({"email": email}, config, origin))
        claimants.append(Claimant(world.instance_id, claims))
    params = Earliers.asking(claimants).params(0)
    with psycopg.connect(world.url) as conn, psycopg.ClientCursor(conn) as cur:
        cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + PROBE_KEYS, params)
        plan = "\n".join(str(row[0]) for row in cur.fetchall())
        conn.rollback()
    ms = next(
        (
            float(line.split(":")[1].split()[0])
            for line in plan.splitlines()
            if "Execution Time" in line
        ),
        float("nan"),
    )
    return plan, ms


# --- the fast driver back to back -------------------------------------------------------------


@dataclass
class Measured:
    leads: int = 0
    wall_s: float = 0.0
    cpu_s: float = 0.0
    pg_cpu_s: float = 0.0
    statements: list[int] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)

    def row(self, label: str, size: int) -> list[Any]:
        n = max(1, self.leads)
        return [
            label,
            f"{size:,}",
            self.leads,
            f"{self.wall_s * 1000 / n:.3f}",
            f"{self.cpu_s * 1000 / n:.3f}",
            f"{self.pg_cpu_s * 1000 / n:.3f}",
            f"{sum(self.statements) / max(1, len(self.statements)):.1f}",
            f"{n / self.wall_s:,.0f}" if self.wall_s else "-",
            ", ".join(f"{k} {v}" for k, v in sorted(self.statuses.items())),
        ]


def bodies(size: int, rng: random.Random) -> Iterator[dict[str, Any]]:
    """New leads, 5 % of them with the email of an earlier lead."""
    for n in itertools.count():
        if rng.random() < 0.05:
            yield {"email": earlier_email(rng.randint(1, size)), "company": "Acme"}
        else:
            yield {"email": f"lead{n}.{rng.getrandbits(40):x}@bench.example", "company": "Acme"}


def intake_run(world: World, campaign_id: int, size: int, leads: int, batch: int) -> Measured:
    """`intake_fast` on batches of `batch` leads, back to back, after a warm-up batch."""
    from leadgate.db import libpq_url, make_engine, make_sessionmaker
    from leadgate.kit.ratelimit import RateLimiter
    from leadgate.leads.intake import Accepted, Hits, LeadIntake, Submission, intake_fast

    limiter = RateLimiter(1_000_000_000, 300)
    source = bodies(size, random.Random(campaign_id * 7919 + size))

    def subs(k: int) -> list[Submission]:
        return [Submission(world.sub, world.key, campaign_id, next(source)) for _ in range(k)]

    LeadIntake(make_sessionmaker(make_engine(world.url)), limiter, libpq_url(world.url)).run(
        subs(batch)
    )  # the general driver fills this process's caches
    m = Measured()

    async def go() -> None:
        conn = await common.RoundTrips.connect(
            libpq_url(world.url), autocommit=True, prepare_threshold=0
        )
        try:
            await intake_fast(conn, subs(batch), Hits(limiter))
            pg0 = {p: common.cpu_seconds([p]) for p in common.backend_pids(world.url)}
            t0, c0 = time.perf_counter(), time.process_time()
            while m.leads < leads:
                s0 = conn.statements
                outcomes = await intake_fast(conn, subs(batch), Hits(limiter))
                m.statements.append(conn.statements - s0)
                for outcome in outcomes:
                    if not isinstance(outcome, Accepted):
                        raise RuntimeError(f"intake: {outcome!r}")
                    m.statuses[outcome.lead.status] = m.statuses.get(outcome.lead.status, 0) + 1
                m.leads += batch
            m.wall_s, m.cpu_s = time.perf_counter() - t0, time.process_time() - c0
            m.pg_cpu_s = sum(
                common.cpu_seconds([p]) - pg0.get(p, 0.0) for p in common.backend_pids(world.url)
            )
        finally:
            await conn.close()

    asyncio.run(go())
    return m


# --- the check's own CPU, no database --------------------------------------------------------


def python_cpu(leads: int, batch: int) -> float:
    """µs of CPU per lead for the duplicate check's Python side: claims, lock and probe
    parameters, the answers, the judging with a LeadContext, the key rows."""
    from datetime import UTC, datetime

    from leadgate.jobs.duplicate_check import DuplicateCheckConfig, DuplicateCheckJob
    from leadgate.leads.keys import Claimant, Earliers, key_rows, keys_param, lock_params
    from leadgate.processr.judging import LeadContext
    from leadgate.processr.plugin import Origin, StaticContext

    job, config = DuplicateCheckJob(), DuplicateCheckConfig()
    origin, base = Origin(1, 1), StaticContext()
    rng = random.Random(5)
    data = [{"email": f"Lead{n}+tag.{rng.random()}@Bench.example"} for n in range(leads)]
    now = datetime.now(UTC)
    started = time.process_time()
    for first in range(0, leads, batch):
        chunk = data[first : first + batch]
        claimants = [Claimant(1, tuple(job.claimed_keys(d, config, origin))) for d in chunk]
        lock_params(claimants)
        earliers = Earliers.asking(claimants)
        earliers.params(len(chunk))
        rows = [
            (n, None, None, now, list(range(len(chunk))) if n == 0 else None)
            for n in earliers.probes.values()
        ]
        earliers.answered(rows)
        out = []
        for i, (d, claimant) in enumerate(zip(chunk, claimants, strict=True)):
            result = job.run(d, config, LeadContext(base, origin, earliers.for_lead(claimant)))
            earliers.judged(claimant, i, "valid" if result.passed else "invalid")
            out += key_rows(claimant, "valid", ord=i)
        keys_param(out)
    return (time.process_time() - started) * 1e6 / leads


# --- the run ---------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> str:
    started = time.perf_counter()
    m = common.machine()
    sizes = sorted(int(s) for s in args.sizes.split(",") if s)
    rng = random.Random(11)
    rows: list[list[Any]] = []
    plans: list[str] = []
    with common.bench_database("duplicates") as url:
        world = build_world(url)
        seeded = 0
        for size in sizes:
            seconds = seed_earlier_leads(
                url, world.instance_id, world.with_check, world.publisher_id, seeded + 1, size
            )
            print(f"{size:,} earlier leads ({seconds:.0f} s to seed)", file=sys.stderr)
            seeded = size
            plan, ms = probe_plan(world, size, args.batch, rng)
            plans += [
                f"#### {size:,} earlier leads: the probe for {args.batch} keys, "
                f"{ms:.2f} ms ({ms * 1000 / args.batch:.0f} µs per key)",
                "",
                "```",
                plan,
                "```",
                "",
            ]
            for label, cid in (
                ("with the duplicate check", world.with_check),
                ("without it", world.without_check),
            ):
                measured = intake_run(world, cid, size, args.leads, args.batch)
                rows.append(measured.row(label, size))
                print(size, label, rows[-1], file=sys.stderr)
    cpu_us = python_cpu(max(args.leads, 1000), args.batch)
    lines = [
        "## Duplicate check against many earlier leads (`bench/bench_duplicates.py`)",
        "",
        *common.header_lines(common.command_line(), m),
        f"- run time {time.perf_counter() - started:.0f} s",
        "- campaign: one `duplicate_check` (email, campaign scope, 90 days, normalised) beside "
        "the same campaign without it; earlier leads seeded with set-based "
        "`INSERT ... SELECT generate_series` (a lead and its key each, spread over 80 days).",
        f"- intake: `intake_fast` (the fast driver, autocommit connection) back to back on "
        f"batches of {args.batch} new leads (5 % with an earlier lead's email), "
        f"{args.leads:,} leads per row after a warm-up batch; CPU = this process "
        "(`time.process_time`), PG CPU = the bench database's backends (/proc); round trips "
        "per batch: `AsyncConnection.wait` calls (a message of one or more statements and its "
        "answer; BEGIN, the lock and the probe go in one, the write and COMMIT in another).",
        "",
        "### Intake with and without the duplicate check",
        "",
        common.table(
            [
                "campaign",
                "earlier leads",
                "leads",
                "ms per lead",
                "CPU ms per lead",
                "PG CPU ms per lead",
                "round trips per batch",
                "leads/s, back to back",
                "verdicts",
            ],
            rows,
            "llrrrrrrl",
        ),
        "",
        f"The duplicate check's own Python CPU, no database (claims, lock and probe parameters, "
        f"answers, `run` through a `LeadContext`, key rows; batches of {args.batch}): "
        f"**{cpu_us:.1f} µs per lead** (target ≤ 100 µs: {common.verdict(cpu_us <= 100)}).",
        "",
        "### The probe's plan",
        "",
        *plans,
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--sizes", default="1000000,10000000", help="earlier leads, comma-separated, ascending"
    )
    parser.add_argument("--leads", type=int, default=3000, help="leads per intake measurement")
    parser.add_argument("--batch", type=int, default=64, help="leads per intake batch")
    args = parser.parse_args(argv)
    common.write_result("duplicates", run(args))


if __name__ == "__main__":
    main()
