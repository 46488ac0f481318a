"""The app `leadgate serve` runs: the API and UI, with the task worker in the same process.

One process: `served_app()` is handed to uvicorn. Several (`--processes N`): uvicorn imports
`from_env` in each child process, which rebuilds the same app from the options the parent put in
the environment (the database URL included, so an embedded PostgreSQL started by the parent is
shared, and stopped by the parent alone).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from leadgate.app import create_app
from leadgate.config import get_settings
from leadgate.db import release_embedded
from leadgate.kit import logs
from leadgate.kit.memory import settle
from leadgate.processr import judging

log = logging.getLogger(__name__)

OPTIONS_ENV = "LEADGATE_SERVE_OPTIONS"


def served_app(url: str, *, task_worker: bool, concurrency: int) -> FastAPI:
    """The app with a task worker in its lifespan (unless `task_worker` is False)."""
    from leadgate.worker.runner import run_worker

    logs.configure(get_settings().log_format)
    api = create_app(get_settings(), url)
    inner = api.router.lifespan_context

    @asynccontextmanager
    async def lifespan(application: object) -> AsyncIterator[None]:
        # Runs inside uvicorn's graceful shutdown: uvicorn re-raises SIGTERM afterwards, so
        # code after `uvicorn.run` (and atexit hooks) never runs on a signal.
        task = None
        if task_worker:
            task = asyncio.create_task(
                run_worker(url, concurrency=concurrency, wait=True, own_signals=False)
            )
        async with inner(api):
            settle()  # the app is built: its long-lived heap stays out of full collections
            threading.Thread(target=_prewarm, args=(api,), daemon=True).start()
            yield
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        api.state.engine.dispose()
        release_embedded()  # a no-op in the child processes of `--processes N`

    api.router.lifespan_context = lifespan
    return api


def _prewarm(api: FastAPI) -> None:
    """Compile the lists active campaigns use, off the request path."""
    try:
        started = time.perf_counter()
        with api.state.sessions() as session:
            count = judging.prewarm(session)
        log.info(
            "list caches warm for %d jobs of active campaigns in %.1f s",
            count,
            time.perf_counter() - started,
        )
    except Exception:  # a cache warm-up must never take the server down
        log.warning("warming the list caches failed; leads will compile them", exc_info=True)


def export_options(url: str, *, task_worker: bool, concurrency: int) -> None:
    """Put the options where the child processes' `from_env` finds them."""
    os.environ["DATABASE_URL"] = url
    os.environ[OPTIONS_ENV] = json.dumps({"task_worker": task_worker, "concurrency": concurrency})


def from_env() -> FastAPI:
    """uvicorn's factory in each process of `leadgate serve --processes N`."""
    options = json.loads(os.environ[OPTIONS_ENV])
    return served_app(
        os.environ["DATABASE_URL"],
        task_worker=options["task_worker"],
        concurrency=options["concurrency"],
    )
