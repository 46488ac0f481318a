"""create_app(), the composition root of the web app: every domain's API and pages, mounted.

The API of every instance lives under /i/{subdomain}/api/v1 (problem+json errors), its pages
under /i/{subdomain}/ui.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import JSONResponse, Response

from leadgate import plugins
from leadgate.audit.endpoints import router as audit_router
from leadgate.campaigns.endpoints import router as campaigns_router
from leadgate.campaigns.pages import router as campaigns_pages
from leadgate.config import Settings, get_settings
from leadgate.db import (
    libpq_url,
    make_engine,
    make_sessionmaker,
    migration_head,
    readiness,
    resolve_database_url,
)
from leadgate.delivery.endpoints import router as delivery_router
from leadgate.delivery.pages import router as delivery_pages
from leadgate.kit import problems, sealing
from leadgate.kit.asgi import BodySizeLimit, HostRouting, PageHeaders
from leadgate.kit.json_text import JsonText
from leadgate.kit.logs import RequestIds
from leadgate.kit.problems import problem
from leadgate.kit.ratelimit import RateLimiter
from leadgate.kit.signing import Signer, deployment_keys
from leadgate.leads.endpoints import router as leads_router
from leadgate.leads.intake import LeadIntake
from leadgate.leads.pages import router as leads_pages
from leadgate.lists.endpoints import router as lists_router
from leadgate.lists.pages import router as lists_pages
from leadgate.metrics_collector import exposition
from leadgate.mirror.endpoints import router as connect_router
from leadgate.mirror.pages import router as connect_pages
from leadgate.portal.endpoints import LeadLane
from leadgate.portal.endpoints import router as publisher_api_router
from leadgate.portal.pages import router as portal_pages
from leadgate.processr.endpoints import router as processr_router
from leadgate.processr.pages import router as processr_pages
from leadgate.publishers.endpoints import router as publishers_router
from leadgate.review.endpoints import router as review_router
from leadgate.review.pages import router as review_pages
from leadgate.stats.endpoints import router as stats_router
from leadgate.stats.pages import router as stats_pages
from leadgate.ui.router import PAGE_PATHS, mount_ui
from leadgate.users.deps import signed_in_for_page
from leadgate.users.pages import router as users_pages

API_PREFIX = "/i/{subdomain}/api/v1"


def create_app(settings: Settings | None = None, database_url: str | None = None) -> FastAPI:
    """The ASGI app of a deployment; every instance lives under /i/{subdomain}."""
    plugins.load()
    settings = settings or get_settings()
    url = database_url or resolve_database_url(settings)
    secret = settings.secret_key.get_secret_value() if settings.secret_key else None
    sealing.configure(secret, settings.data_dir)

    @asynccontextmanager
    async def lifespan(application: FastAPI) -> AsyncIterator[None]:
        yield
        await application.state.lead_intake.aclose()

    app = FastAPI(
        lifespan=lifespan,
        title="leadgate",
        version="1",
        summary="Lead validation with Connect between instances.",
        openapi_url="/openapi.json",
        docs_url="/docs",
    )
    app.state.settings = settings
    app.state.database_url = url
    app.state.engine = make_engine(url, settings.db_pool_size)
    app.state.sessions = make_sessionmaker(app.state.engine)
    app.state.signer = Signer(deployment_keys(settings))
    app.state.rate_limiter = RateLimiter(settings.rate_limit_requests, settings.rate_limit_window_s)
    app.state.lead_intake = LeadIntake(
        app.state.sessions,
        app.state.rate_limiter,
        libpq_url(url),
        max_staleness_s=settings.connect_max_staleness_s,
    )
    problems.install(app)
    # Innermost first: gzip, then the lead lane (its small answers never need compressing),
    # then the check of JSON text, the body-size limit and Host routing, which apply to the
    # lane too.
    app.add_middleware(GZipMiddleware, minimum_size=1000, compresslevel=5)
    app.add_middleware(LeadLane, intake=lambda: app.state.lead_intake, prefix=API_PREFIX)
    app.add_middleware(JsonText)
    app.add_middleware(
        BodySizeLimit,
        max_bytes=settings.max_body_bytes,
        max_upload_bytes=settings.max_upload_bytes,
    )
    app.add_middleware(PageHeaders, pages=PAGE_PATHS)
    app.add_middleware(HostRouting, base_domain=settings.base_domain)
    app.add_middleware(RequestIds)  # outermost: every line logged for a request names it

    api = APIRouter(prefix=API_PREFIX)
    # The Publisher API first: its lead route is the hot path, and routes match in order.
    for router in (
        publisher_api_router,
        campaigns_router,
        publishers_router,
        lists_router,
        processr_router,
        review_router,
        leads_router,
        connect_router,
        delivery_router,
        audit_router,
        stats_router,
    ):
        api.include_router(router)

    @api.get("/openapi.json", include_in_schema=False)
    def instance_openapi(subdomain: str) -> JSONResponse:
        """The complete OpenAPI document (one for the deployment; paths carry {subdomain})."""
        return JSONResponse(app.openapi())

    app.include_router(api)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        """The process is alive (for a supervisor; says nothing about the database)."""
        return {"status": "ok"}

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        """Prometheus text format: every process of this machine, and the database's gauges."""
        body = exposition(app.state.sessions)
        return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")

    @app.get("/readyz", include_in_schema=False)
    def readyz() -> Response:
        """Ready for traffic: the database takes connections and its schema is this code's
        (for a load balancer's health check); 503 problem+json otherwise."""
        wrong = readiness(url)
        if wrong is not None:
            return problem(503, "not_ready", wrong)
        return JSONResponse({"status": "ready", "migration": migration_head()})

    mount_ui(
        app,
        (
            users_pages,
            campaigns_pages,
            portal_pages,
            lists_pages,
            processr_pages,
            connect_pages,
            delivery_pages,
            review_pages,
            leads_pages,
            stats_pages,
        ),
        signed_in=signed_in_for_page,
    )

    return app
