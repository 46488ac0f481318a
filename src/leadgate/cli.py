"""The `leadgate` command: serve, worker, instances, demo data and list imports."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from leadgate.config import get_settings
from leadgate.db import (
    make_engine,
    make_sessionmaker,
    migrate,
    release_embedded,
    resolve_database_url,
    transaction,
)
from leadgate.errors import LeadgateError
from leadgate.kit import logs, sealing

app = typer.Typer(
    help="leadgate: lead validation with Connect between instances.",
    no_args_is_help=True,
    add_completion=False,
)
instance_app = typer.Typer(help="Create and inspect instances.", no_args_is_help=True)
app.add_typer(instance_app, name="instance")
lists_app = typer.Typer(help="Validation lists: import CSV files.", no_args_is_help=True)
app.add_typer(lists_app, name="lists")
leads_app = typer.Typer(help="Leads: export them as CSV.", no_args_is_help=True)
app.add_typer(leads_app, name="leads")
secrets_app = typer.Typer(
    help="The deployment key that seals stored client keys and webhook secrets.",
    no_args_is_help=True,
)
app.add_typer(secrets_app, name="secrets")

err = Console(stderr=True)


def _database() -> str:
    """The database URL of this deployment, migrated to the newest schema, with the deployment
    key checked against it."""
    url = resolve_database_url(get_settings())
    try:
        migrate(url)
        with make_engine(url).begin() as connection:
            sealing.check_key(connection)
    except sealing.WrongKey as exc:
        err.print(f"[red]error[/] (wrong_secret_key): {exc}")
        raise typer.Exit(3) from exc
    return url


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    no_worker: Annotated[
        bool, typer.Option("--no-worker", help="Do not run a task worker in this process.")
    ] = False,
    workers: Annotated[int, typer.Option(help="Task worker concurrency.")] = 4,
    processes: Annotated[
        int,
        typer.Option(
            min=1,
            help="API processes (one per core is a good start); each runs its own task "
            "worker unless --no-worker.",
        ),
    ] = 1,
    access_log: Annotated[
        bool,
        typer.Option("--access-log", help="Log every request (costs ~0.15 ms of CPU per request)."),
    ] = False,
    demo: Annotated[
        bool,
        typer.Option("--demo", help="Once listening, create the demo data (see `leadgate demo`)."),
    ] = False,
) -> None:
    """Run the API and UI (and a task worker, unless --no-worker). Migrates on start."""
    import uvicorn

    from leadgate.serving import export_options, served_app

    url = _database()
    if demo:
        threading.Thread(
            target=_seed_when_up, args=(f"http://{host}:{port}/healthz", url), daemon=True
        ).start()
    err.print(
        f"[green]leadgate[/] serving on http://{host}:{port}  (API docs: /docs)"
        + (f", {processes} processes" if processes > 1 else "")
    )
    if processes == 1:
        api = served_app(url, task_worker=not no_worker, concurrency=workers)
        uvicorn.run(api, host=host, port=port, log_level="info", access_log=access_log)
        return
    export_options(url, task_worker=not no_worker, concurrency=workers)
    try:
        uvicorn.run(
            "leadgate.serving:from_env",
            factory=True,
            host=host,
            port=port,
            workers=processes,
            log_level="info",
            access_log=access_log,
        )
    finally:
        release_embedded()


def _seed_when_up(health_url: str, url: str) -> None:
    """Seed the demo once the server answers (Connect setup calls it over real HTTP)."""
    import httpx

    from leadgate.demo import seed

    for _ in range(300):
        try:
            if httpx.get(health_url, timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    summary = seed(make_sessionmaker(make_engine(url)), get_settings())
    err.print("[green]demo data ready[/]; sign in at the `web` URLs with these users:")
    typer.echo(json.dumps(summary, indent=2))


@app.command()
def worker(
    concurrency: Annotated[int, typer.Option(help="Tasks run at once.")] = 4,
) -> None:
    """Run task workers alone (no HTTP). Migrates on start."""
    from leadgate.worker.runner import run_worker

    url = _database()
    logs.configure(get_settings().log_format)
    try:
        asyncio.run(run_worker(url, concurrency=concurrency, wait=True))
    finally:
        release_embedded()


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
    from leadgate.users.service import create_instance

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


@lists_app.command("import")
def lists_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV file to import.")],
    instance: Annotated[str, typer.Option("--instance", help="Subdomain of the instance.")],
    list_id: Annotated[int, typer.Option("--list", help="Id of the validation list.")],
    mode: Annotated[
        str, typer.Option(help="add, replace (the list becomes the file) or remove.")
    ] = "add",
    header: Annotated[str, typer.Option(help="Is line 1 a header? auto, yes or no.")] = "auto",
) -> None:
    """Import the first column of a CSV file into a validation list, with a progress bar."""
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn

    from leadgate.instances.service import get_instance
    from leadgate.kit.repository import TenantScope
    from leadgate.lists import service as lists

    if mode not in ("add", "replace", "remove") or header not in ("auto", "yes", "no"):
        err.print("[red]error[/]: --mode is add, replace or remove; --header is auto, yes or no")
        raise typer.Exit(2)
    url = _database()
    body = file.read_bytes()
    total_lines = body.count(b"\n") + 1
    try:
        with (
            Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TaskProgressColumn(),
                console=err,
            ) as bar,
            transaction(make_sessionmaker(make_engine(url))) as session,
        ):
            task = bar.add_task(f"reading {file.name}", total=total_lines)
            found = get_instance(session, instance)
            if found is None:
                raise LeadgateError(f"There is no instance {instance!r}.", code="not_found")
            result = lists.import_csv(
                TenantScope(session, found.id),
                list_id,
                body,
                mode,  # type: ignore[arg-type]
                header=header,
                progress=lambda line: bar.update(task, completed=line),
            )
            bar.update(task, completed=total_lines, description="written to the database")
    except LeadgateError as exc:
        err.print(f"[red]error[/] ({exc.code}): {exc.detail}")
        raise typer.Exit(2) from exc
    for rejected in result.rejected[:20]:
        err.print(f"[yellow]line {rejected.line}[/]: {rejected.reason}")
    if len(result.rejected) > 20:
        err.print(f"[yellow]... and {len(result.rejected) - 20} more rejected lines[/]")
    typer.echo(json.dumps(result.model_dump()))


@leads_app.command("export")
def leads_export(
    instance: Annotated[str, typer.Option("--instance", help="Subdomain of the instance.")],
    out: Annotated[Path, typer.Option("--out", dir_okay=False, help="The CSV file to write.")],
    campaign: Annotated[int | None, typer.Option(help="Only this campaign's leads.")] = None,
    status: Annotated[
        list[str] | None, typer.Option(help="Only leads of this status (repeat for more).")
    ] = None,
    publisher: Annotated[int | None, typer.Option(help="Only this publisher's leads.")] = None,
    from_: Annotated[
        str | None, typer.Option("--from", help="Created at or after (date or date-time, UTC).")
    ] = None,
    to: Annotated[
        str | None, typer.Option(help="Created before; a date includes that whole day.")
    ] = None,
    exact: Annotated[
        bool,
        typer.Option("--exact", help="Exact values: no ' before cells that look like formulas."),
    ] = False,
) -> None:
    """Write leads as CSV (the columns of GET /leads/export), with a progress bar."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from leadgate.instances.service import get_instance
    from leadgate.kit.repository import TenantScope
    from leadgate.leads import export

    url = _database()
    engine = make_engine(url)
    try:
        with transaction(make_sessionmaker(engine)) as session:
            found = get_instance(session, instance)
            if found is None:
                raise LeadgateError(f"There is no instance {instance!r}.", code="not_found")
            scope = TenantScope(session, found.id)
            job = export.prepare(
                scope,
                campaign_id=campaign,
                statuses=status or (),
                publisher_id=publisher,
                since=export.moment(from_, "from"),
                before=export.moment(to, "to", end=True),
                neutralise=not exact,
            )
            total = export.count(scope, job)
    except LeadgateError as exc:
        err.print(f"[red]error[/] ({exc.code}): {exc.detail}")
        raise typer.Exit(2) from exc
    written = 0
    with (
        Progress(
            TextColumn(f"exporting to {out.name}"), BarColumn(), MofNCompleteColumn(), console=err
        ) as bar,
        out.open("wb") as file,
    ):
        task = bar.add_task("export", total=total)
        for rows, data in export.chunks(engine, job, export.BATCH):
            file.write(data)
            written += rows
            bar.update(task, completed=written, total=max(total, written))
    typer.echo(json.dumps({"file": str(out), "leads": written, "columns": job.header}))


@secrets_app.command("new-key")
def secrets_new_key() -> None:
    """Print a fresh deployment key (for LEADGATE_SECRET_KEY)."""
    typer.echo(sealing.new_key())


@secrets_app.command("rotate")
def secrets_rotate() -> None:
    """Re-seal every stored secret under the first key of LEADGATE_SECRET_KEY.

    Put the new key first and keep the old one after it (`LEADGATE_SECRET_KEY=new,old`), run
    this once, then drop the old key from the setting (and restart the servers).
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from leadgate.secret_rotation import rotate

    url = _database()
    with (
        Progress(TextColumn("re-sealing"), BarColumn(), MofNCompleteColumn(), console=err) as bar,
        transaction(make_sessionmaker(make_engine(url))) as session,
    ):
        task = bar.add_task("re-sealing", total=None)
        count = rotate(session, lambda done, total: bar.update(task, completed=done, total=total))
    keys = sealing.sealer().key_count
    err.print(f"[green]re-sealed {count} stored secrets under the first of {keys} key(s)[/]")
    if keys > 1:
        err.print("now drop the old key(s) from LEADGATE_SECRET_KEY and restart the servers")


def main() -> None:
    """Entry point of the `leadgate` script."""
    from leadgate.kit.metrics_folder import use_folder

    use_folder(get_settings().data_dir)  # before any metric exists: one folder per machine
    from leadgate import plugins  # job types and hooks, before any command runs

    plugins.load()
    app()
