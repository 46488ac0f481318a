"""The procrastinate app: tasks live in `leadgate.*.tasks` modules and register here."""

from __future__ import annotations

import procrastinate

queue = procrastinate.App(
    connector=procrastinate.PsycopgConnector(),
    import_paths=["leadgate.worker.tasks"],
)
