"""The `leadgate` command: serve, worker, instances, demo data and list imports."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

import typer
from rich.console import Console

from leadgate.config import get_settings
from leadgate.db import make_engine, make_sessionmaker, migrate, resolve_database_url, transaction
from leadgate.errors import LeadgateError

app = typer.Typer(
    help="leadgate: lead validation with Connect between instances.",
    no_args_is_help=True,
    add_completion=False,
)
instance_app = typer.Typer(help="Create and inspect instances.", no_args_is_help=True)
app.add_typer(instance_app, name="instance")

err = Console(stderr=True)


def _database() -> str:
    """The database URL of this deployment, migrated to the newest schema."""
    url = resolve_database_url(get_settings())
    migrate(url)
    return url


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    no_worker: Annotated[
        bool, typer.Option("--no-worker", help="Do not run a task worker in this process.")
    ] = False,
    workers: Annotated[int, typer.Option(help="Task worker concurrency.")] = 4,
) -> None:
    """Run the API and UI (and a task worker, unless --no-worker). Migrates on start."""
    import uvicorn

    from leadgate.app import create_app
    from leadgate.worker.runner import run_worker

    settings = get_settings()
    url = _database()
    api = create_app(settings, url)

    if not no_worker:
        inner = api.router.lifespan_context

        @asynccontextmanager
        async def lifespan(application: object) -> AsyncIterator[None]:
            task = asyncio.create_task(run_worker(url, concurrency=workers, wait=True))
            async with inner(api):
                yield
            task.cancel()

        api.router.lifespan_context = lifespan

    err.print(f"[green]leadgate[/] serving on http://{host}:{port}  (API docs: /docs)")
    uvicorn.run(api, host=host, port=port, log_level="info")


@app.command()
def worker(
    concurrency: Annotated[int, typer.Option(help="Tasks run at once.")] = 4,
) -> None:
    """Run task workers alone (no HTTP). Migrates on start."""
    from leadgate.worker.runner import run_worker

    url = _database()
    logging.basicConfig(level=logging.INFO)
    asyncio.run(run_worker(url, concurrency=concurrency, wait=True))


@app.command(name="migrate")
def migrate_cmd() -> None:
    """Apply database migrations and exit."""
    _database()
    err.print("[green]database is up to date[/]")


@instance_app.command("create")
def instance_create(
    subdomain: Annotated[str, typer.Argument(help="e.g. acme; lowercase letters, digits, -")],
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
) -> None:
    """Create an instance and print {"subdomain", "admin_token"} as JSON."""
    from leadgate.instances.service import create_instance

    url = _database()
    try:
        with transaction(make_sessionmaker(make_engine(url))) as session:
            created = create_instance(session, subdomain, name)
    except LeadgateError as exc:
        err.print(f"[red]error[/] ({exc.code}): {exc.detail}")
        raise typer.Exit(2) from exc
    typer.echo(json.dumps(created.model_dump()))


@app.command()
def demo() -> None:
    """Create (idempotently) the demo instances acme (client) and leadco (publisher)."""
    from leadgate.demo import seed

    url = _database()
    summary = seed(make_sessionmaker(make_engine(url)), get_settings())
    typer.echo(json.dumps(summary, indent=2))


def main() -> None:
    """Entry point of the `leadgate` script."""
    app()
