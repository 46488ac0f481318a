"""Where the processes of a machine count their metrics (prometheus-client's multi-process mode).

Its own module, without prometheus-client: the library picks its way of counting when it is
first imported, so the folder must be set before (the CLI calls `use_folder` first thing).
"""

from __future__ import annotations

import os
from pathlib import Path

ENV = "PROMETHEUS_MULTIPROC_DIR"


def use_folder(data_dir: Path) -> None:
    """Count into `data_dir/metrics` (made if missing) unless a folder is set already, and drop
    the files of processes that are gone (their counts leave the sums: Prometheus reads that as
    a counter reset). Call before the first metric is touched (the CLI does, first thing)."""
    folder = Path(os.environ.get(ENV) or data_dir / "metrics")
    folder.mkdir(parents=True, exist_ok=True)
    os.environ[ENV] = str(folder)
    for path in folder.glob("*.db"):
        pid = path.stem.rpartition("_")[2]
        if pid.isdigit() and not _alive(int(pid)):
            path.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
