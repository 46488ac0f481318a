"""Bench-only app factory: the real leadgate app plus two floor routes, for uvicorn.

    PYTHONPATH=bench DATABASE_URL=... uvicorn serve_app:create --factory [--workers 2]

`create()` calls `leadgate.app.create_app()` (settings from the environment, as `leadgate serve`
does) and mounts, outside the API, routes that reuse the app's engine, sessions and request
dependencies but skip parts of the lead hot path, so a benchmark can compare against them in the
same server:

- `POST /bench/i/{subdomain}/instances/{instance_id}/campaigns/{cid}/insert-only`: parses the lead
  body and inserts the lead row (one INSERT, commit). No auth, no checks, no Processr.
- `POST /bench/i/{subdomain}/campaigns/{cid}/no-processr`: the real publisher submit path (key
  auth, rate limit, grant check, field checks, lead + history rows, commit) minus judging.
- `POST /bench/i/{subdomain}/campaigns/{cid}/lean`: the prototype of bench/lean_path.py (the
  same Processr verdict in two SQL statements), to show what the proposed changes buy.
- `POST /bench/i/{subdomain}/campaigns/{cid}/no-db`: body parsing and a JSON answer only (the
  framework's own cost per request: uvicorn, middleware, FastAPI, threadpool hop).
- `GET /bench/i/{subdomain}/lists/{list_id}/naive-snapshot`: a list's full snapshot the naive way
  (all values in memory, one JSON document), to compare with the streamed one.

With `BENCH_INPROCESS_WORKER=1` it also runs the procrastinate worker inside the process, as
`leadgate serve` without `--no-worker` does. Nothing here is mounted by `leadgate serve`.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import FastAPI, Header, Request, Response
from fastapi.responses import JSONResponse

from leadgate.app import create_app
from leadgate.instances.deps import DbSession, Publisher
from leadgate.instances.service import authenticate
from leadgate.kit.problems import problem
from leadgate.kit.repository import TenantScope
from leadgate.leads import service as leads
from leadgate.leads.models import Lead
from leadgate.leads.schemas import LeadSubmit
from leadgate.lists import service as lists
from leadgate.lists.models import ValidationList
from leadgate.publishers.publisher_endpoints import granted_campaign
from lean_path import LeanPath, Refused, dumps


def create() -> FastAPI:
    """The real app, plus the floor routes (and the in-process worker when asked)."""
    app = create_app()

    @app.post(
        "/bench/i/{subdomain}/instances/{instance_id}/campaigns/{campaign_id}/insert-only",
        status_code=201,
        include_in_schema=False,
    )
    def insert_only(
        subdomain: str, instance_id: int, campaign_id: int, body: LeadSubmit, session: DbSession
    ) -> dict[str, Any]:
        lead = Lead(
            instance_id=instance_id,
            campaign_id=campaign_id,
            data=dict(body.data),
            status="pending",
            score=0,
            max_score=0,
            flags=[],
            jobs=[],
        )
        session.add(lead)
        session.flush()
        return {"id": lead.id, "status": lead.status}

    @app.post(
        "/bench/i/{subdomain}/campaigns/{campaign_id}/no-processr",
        status_code=201,
        include_in_schema=False,
    )
    def no_processr(
        subdomain: str, campaign_id: int, body: LeadSubmit, caller: Publisher, session: DbSession
    ) -> dict[str, Any]:
        scope = TenantScope(session, caller.instance_id)
        granted_campaign(scope, caller, campaign_id)
        data = dict(body.data)
        lead = leads.accept(
            scope,
            campaign_id,
            data,
            publisher_id=caller.publisher_id,
            request_hash=leads.request_hash(data),
        )
        session.commit()
        return leads.to_publisher_out(lead).model_dump(mode="json")

    lean = LeanPath(app.state.engine, pool_size=app.state.settings.db_pool_size)

    @app.post(
        "/bench/i/{subdomain}/campaigns/{campaign_id}/lean",
        status_code=201,
        include_in_schema=False,
    )
    def lean_submit(
        subdomain: str,
        campaign_id: int,
        body: LeadSubmit,
        request: Request,
        authorization: Annotated[str | None, Header()] = None,
    ) -> Response:
        """The prototype of bench/lean_path.py: the Processr route in two statements."""
        secret = (authorization or "").partition(" ")[2].strip()
        key_id = lean.key_id(secret)
        if key_id is None:
            with app.state.sessions() as session:
                caller = authenticate(session, subdomain, secret)
            assert caller.key_id is not None
            lean.remember(secret, caller.key_id)
            key_id = caller.key_id
        wait = request.app.state.rate_limiter.hit(key_id)
        if wait is not None:
            return problem(429, "rate_limited", f"retry in {wait} s")
        data = dict(body.data)
        try:
            out = lean.submit(subdomain, secret, campaign_id, data, leads.request_hash(data))
        except Refused as exc:
            return problem(422, "refused", str(exc))
        return Response(dumps(out), status_code=201, media_type="application/json")

    @app.post(
        "/bench/i/{subdomain}/campaigns/{campaign_id}/no-db",
        status_code=201,
        include_in_schema=False,
    )
    def no_db(subdomain: str, campaign_id: int, body: LeadSubmit) -> dict[str, Any]:
        """The framework alone: route, body parsing and validation, JSON answer; no database."""
        return {"id": 0, "status": "pending", "fields": len(body.data)}

    @app.get("/bench/i/{subdomain}/lists/{list_id}/naive-snapshot", include_in_schema=False)
    def naive_snapshot(subdomain: str, list_id: int, session: DbSession) -> JSONResponse:
        """The naive full snapshot: every value loaded, one JSON document built in memory."""
        row = session.get(ValidationList, list_id)
        assert row is not None
        values = sorted(lists.all_values(session, list_id))
        return JSONResponse({"list_version": row.version, "mode": "full", "values": values})

    if os.environ.get("BENCH_INPROCESS_WORKER") == "1":
        from leadgate.worker.runner import run_worker

        inner = app.router.lifespan_context
        url = app.state.database_url

        @asynccontextmanager
        async def lifespan(application: Any) -> AsyncIterator[None]:
            task = asyncio.create_task(run_worker(url, concurrency=4, wait=True))
            async with inner(app):
                yield
            task.cancel()

        app.router.lifespan_context = lifespan
    return app
