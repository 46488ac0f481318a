"""Run every benchmark, one after the other, and collect the results into bench/RESULTS.md.

    python bench/run_all.py            # quick sizes: about 8 minutes on the 2-core VM
    python bench/run_all.py --full     # 200-change series, all serving setups (~35 minutes)
    python bench/run_all.py --only import,snapshot
    BENCH_RESULTS=/tmp/b python bench/run_all.py   # results elsewhere, bench/ untouched

Each benchmark writes bench/results/<name>.md; this script then rebuilds bench/RESULTS.md from
bench/results/summary.md (the hand-kept summary of findings and targets) followed by every
result file. Tools: `wrk` (Debian package) for the lead benchmark; py-spy
is installed into bench/.deps (pip --target, outside the project's venv) when missing.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

import common

ORDER = [
    "matching",
    "import",
    "snapshot",
    "leads",
    "duplicates",
    "connect",
    "pages",
    "dashboard",
    "delivery",
    "delivery-trickle",
    "delivery-crash",
    "scale",
    "private-lists",
    "review-export",
]

QUICK = {
    "matching": ["--sizes", "1000,100000,1000000", "--lookups", "5000"],
    "import": ["--values", "1000000", "--naive", "20000"],
    "snapshot": ["--values", "1000000", "--small", "100000"],
    "leads": ["--values", "1000000", "--duration", "8", "--warmup", "3"],
    "duplicates": ["--sizes", "1000000", "--leads", "3000"],
    "connect": ["--values", "1000000", "--changes", "50", "--dropped-changes", "20"],
    "pages": ["--leads", "100000", "--runs", "5"],
    "dashboard": ["--leads", "100000", "--intake", "500"],
    "delivery": ["--leads", "300"],
    "delivery-crash": ["--leads", "200", "--crash"],
    "private-lists": ["--values", "100000", "--lookups", "5000"],
    "review-export": ["--leads", "1000000", "--bulk", "10000", "--naive-bulk", "2000"],
}
FULL = {
    "matching": ["--sizes", "1000,100000,1000000", "--lookups", "20000"],
    "import": ["--values", "1000000", "--naive", "50000"],
    "snapshot": ["--values", "1000000", "--small", "100000"],
    "leads": ["--values", "1000000", "--full"],
    "duplicates": ["--sizes", "1000000,10000000", "--leads", "5000"],
    "connect": ["--values", "1000000", "--full"],
    "pages": ["--leads", "100000", "--runs", "9"],
    "dashboard": ["--leads", "1000000", "--intake", "2000", "--values", "1000000"],
    "delivery": ["--leads", "2000"],
    "delivery-crash": ["--leads", "2000", "--crash"],
    "private-lists": ["--values", "1000000", "--lookups", "20000"],
    "review-export": ["--leads", "1000000", "--bulk", "10000", "--naive-bulk", "10000"],
}
SCRIPTS = {
    "matching": "bench_matching.py",
    "import": "bench_import.py",
    "snapshot": "bench_snapshot.py",
    "leads": "bench_leads.py",
    "duplicates": "bench_duplicates.py",
    "connect": "bench_connect.py",
    "pages": "bench_pages.py",
    "dashboard": "bench_dashboard.py",
    "delivery": "bench_delivery.py",
    "delivery-crash": "bench_delivery.py",
    "private-lists": "bench_private_lists.py",
    "review-export": "bench_review_export.py",
}
DEPS = ["py-spy"]


def ensure_deps() -> None:
    """Bench-only tools into bench/.deps (never into the project's venv)."""
    missing = [d for d in DEPS if not any(common.DEPS.glob(f"{d.replace('-', '_')}*"))]
    if missing:
        print(f"installing {', '.join(missing)} into {common.DEPS}", file=sys.stderr)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--target",
                str(common.DEPS),
                *missing,
            ],
            check=True,
        )
    if common.tool("wrk") is None:
        print(
            "wrk is missing (apt-get install -y wrk): the lead benchmark will fail", file=sys.stderr
        )


def rebuild_results() -> None:
    """bench/RESULTS.md = the summary, then every result file in benchmark order."""
    parts = []
    summary = common.RESULTS / "summary.md"
    if summary.exists():
        parts.append(summary.read_text().rstrip())
    for name in ORDER:
        path = common.RESULTS / f"{name}.md"
        if path.exists():
            parts.append(path.read_text().rstrip())
    text = "\n\n".join(parts).replace("\n## ", "\n\n## ")
    target = common.BENCH / "RESULTS.md"
    if common.RESULTS != common.BENCH / "results":
        target = common.RESULTS / "RESULTS.md"  # a redirected run leaves bench/ alone
    target.write_text(text + "\n")
    print(f"wrote {target}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--full", action="store_true", help="the full sizes of the targets")
    parser.add_argument("--only", default="", help=f"comma-separated subset of {ORDER}")
    parser.add_argument(
        "--collect",
        action="store_true",
        help="only rebuild bench/RESULTS.md from bench/results/*.md",
    )
    args = parser.parse_args(argv)
    if not args.collect:
        ensure_deps()
        chosen = [n for n in ORDER if not args.only or n in args.only.split(",")]
        sizes = FULL if args.full else QUICK
        failed = []
        for name in chosen:
            cmd = [sys.executable, str(common.BENCH / SCRIPTS[name]), *sizes[name]]
            if name in ("matching", "pages"):
                cmd += ["--out", str(common.RESULTS / f"{name}.md")]
            print(f"\n=== {name}: {' '.join(cmd[1:])}", file=sys.stderr, flush=True)
            start = time.perf_counter()
            done = subprocess.run(cmd, cwd=common.ROOT)
            print(
                f"=== {name}: exit {done.returncode} after {time.perf_counter() - start:.0f} s",
                file=sys.stderr,
            )
            if done.returncode:
                failed.append(name)
        rebuild_results()
        if failed:
            sys.exit(f"failed: {', '.join(failed)}")
    else:
        rebuild_results()


if __name__ == "__main__":
    main()
