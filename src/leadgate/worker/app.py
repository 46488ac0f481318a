"""The procrastinate app: tasks live in `leadgate.*.tasks` modules, listed by `leadgate.plugins`."""

from __future__ import annotations

import procrastinate

queue = procrastinate.App(
    connector=procrastinate.PsycopgConnector(),
    import_paths=["leadgate.plugins"],
)
