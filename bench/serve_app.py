"""Bench-only app factory: the real leadgate app plus floor routes, for uvicorn.

    PYTHONPATH=bench DATABASE_URL=... BENCH_SERVED=1 uvicorn serve_app:create --factory --workers 2

`create()` builds the app from the environment (settings and `DATABASE_URL`, as `leadgate serve`
does) and puts, in front of the app's ~200 routes (routes match in order: a route at the end
pays ~0.7 ms of route matching per request), bench-only routes that reuse the app's engine,
sessions and request dependencies but do less (or more) than the real lead route, so a
benchmark can compare against them on the same server:

- `POST /bench/i/{subdomain}/instances/{instance_id}/campaigns/{cid}/insert-only/leads`: parses
  the lead body and inserts the lead row (one INSERT, commit, one request per transaction). No
  auth, no checks, no Processr: the route that only inserts the lead.
- `POST /bench/i/{subdomain}/campaigns/{cid}/naive/leads`: the per-request path the lead route
  had before batching: a sync route with the `Publisher` and `DbSession` dependencies (key
  lookup, rate limit), `granted_campaign`, `lifecycle.submit` (the Processr through the ORM:
  jobs, lists, verdict; the lead and its history rows), and the answer
  (committed by the `DbSession` dependency): one lead per request, two transactions.
- `POST /bench/i/{subdomain}/campaigns/{cid}/no-db/leads`: an `async def` like the real route
  that reads and validates the body (`LeadSubmit`) and answers JSON; no database (the
  framework's own cost per request: uvicorn, middleware, routing, body parsing).
- `GET /bench/i/{subdomain}/lists/{list_id}/naive-snapshot`: a list's full snapshot the naive way
  (all values in memory, one JSON document), to compare with the streamed one.
- `GET /bench/i/{subdomain}/campaigns/{cid}/naive-export`: the lead export the naive way: every
  lead of the campaign loaded through the ORM, the whole CSV written into one string, then sent
  (bench_review_export.py compares it with the streamed `GET /leads/export`).

The lead routes end in `/leads` like the real one; unlike it (served by its lane ahead of gzip),
they pass through Starlette's gzip wrapper, ~3% of a floor request. The "no Processr" floor is
the real route on a campaign without jobs (bench_leads.py builds one), not a route of its own.

With `BENCH_SERVED=1` (bench_leads.py) the app is the one `leadgate serve` runs,
`leadgate.serving.served_app()`: the list caches of active campaigns are compiled in a
background thread at startup (it logs `list caches warm for N jobs ...`) and the gc is frozen
after startup. `BENCH_INPROCESS_WORKER=1` (which implies it) also runs the procrastinate worker
in the process, as `leadgate serve` without `--no-worker` does. Without either, the app is
`create_app()` alone (bench_snapshot.py: no background list compile to disturb its memory
measurement). Nothing here is mounted by `leadgate serve`.
"""

from __future__ import annotations

import csv
import io
import os
from typing import Any

import orjson
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import select

from leadgate.app import create_app
from leadgate.campaigns.models import Campaign
from leadgate.config import get_settings
from leadgate.db import resolve_database_url
from leadgate.instances.deps import DbSession, Publisher
from leadgate.kit.repository import TenantScope
from leadgate.leads import lifecycle
from leadgate.leads import service as leads
from leadgate.leads.models import Lead
from leadgate.leads.schemas import LeadSubmit, PublisherLeadOut
from leadgate.lists import service as lists
from leadgate.lists.models import ValidationList
from leadgate.portal.endpoints import granted_campaign
from leadgate.serving import served_app


def create() -> FastAPI:
    """The real app (as `leadgate serve` builds it with BENCH_SERVED=1) plus the bench routes."""
    worker = os.environ.get("BENCH_INPROCESS_WORKER") == "1"
    if worker or os.environ.get("BENCH_SERVED") == "1":
        app = served_app(resolve_database_url(get_settings()), task_worker=worker, concurrency=4)
    else:
        app = create_app()
    add_bench_routes(app)
    return app


def add_bench_routes(app: FastAPI) -> None:
    """Mount the bench-only routes in front of the app's own."""
    first = len(app.router.routes)

    @app.post(
        "/bench/i/{subdomain}/instances/{instance_id}/campaigns/{campaign_id}/insert-only/leads",
        status_code=201,
        include_in_schema=False,
    )
    def insert_only(
        subdomain: str, instance_id: int, campaign_id: int, body: LeadSubmit, session: DbSession
    ) -> dict[str, Any]:
        """Parse, one INSERT, commit (by the DbSession dependency)."""
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
        "/bench/i/{subdomain}/campaigns/{campaign_id}/naive/leads",
        status_code=201,
        response_model=PublisherLeadOut,
        include_in_schema=False,
    )
    def naive(
        subdomain: str, campaign_id: int, body: LeadSubmit, caller: Publisher, session: DbSession
    ) -> PublisherLeadOut:
        """The per-request path: check, judge and store one lead through the ORM."""
        scope = TenantScope(session, caller.instance_id)
        granted_campaign(scope, caller, campaign_id)
        lead = lifecycle.submit(
            scope,
            campaign_id,
            dict(body.data),
            publisher_id=caller.publisher_id,
            max_staleness_s=None,
        )
        return leads.to_publisher_out(lead)

    @app.post(
        "/bench/i/{subdomain}/campaigns/{campaign_id}/no-db/leads",
        status_code=201,
        include_in_schema=False,
    )
    async def no_db(subdomain: str, campaign_id: int, request: Request) -> Response:
        """The framework alone: route, body read and validated, JSON answer; no database."""
        body = LeadSubmit.model_validate_json(await request.body())
        answer = {"id": 0, "status": "pending", "fields": len(body.data)}
        return Response(orjson.dumps(answer), status_code=201, media_type="application/json")

    @app.get("/bench/i/{subdomain}/lists/{list_id}/naive-snapshot", include_in_schema=False)
    def naive_snapshot(subdomain: str, list_id: int, session: DbSession) -> JSONResponse:
        """The naive full snapshot: every value loaded, one JSON document built in memory."""
        row = session.get(ValidationList, list_id)
        assert row is not None
        values = sorted(lists.all_values(session, list_id))
        return JSONResponse({"list_version": row.version, "mode": "full", "values": values})

    @app.get("/bench/i/{subdomain}/campaigns/{campaign_id}/naive-export", include_in_schema=False)
    def naive_export(subdomain: str, campaign_id: int, session: DbSession) -> Response:
        """The naive export: load every lead, then write the whole CSV in memory."""
        campaign = session.get(Campaign, campaign_id)
        assert campaign is not None
        fields = [f["name"] for f in campaign.fields]
        leads_all = session.scalars(
            select(Lead).where(Lead.campaign_id == campaign_id).order_by(Lead.id)
        ).all()
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(["id", "created_at", "status", "score", *fields, "flags"])
        for lead in leads_all:
            flags = " | ".join(str(f.get("message")) for f in lead.flags)
            values = [lead.data.get(f) for f in fields]
            writer.writerow(
                [lead.id, lead.created_at.isoformat(), lead.status, lead.score, *values, flags]
            )
        return Response(out.getvalue(), media_type="text/csv; charset=utf-8")

    routes = app.router.routes
    routes[:] = [*routes[first:], *routes[:first]]
