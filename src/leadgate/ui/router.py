"""Mounts the web UI: every instance's pages under /i/{subdomain}/ui, the landing page at /.

Errors on pages are pages: a service error or a bad URL renders a short message in the layout
(never a traceback); the UI's JSON endpoints under /ui/api/ keep answering problem+json.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Annotated, cast

from fastapi import APIRouter, FastAPI, Form, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from leadgate.errors import LeadgateError
from leadgate.kit import problems
from leadgate.kit.subdomains import SUBDOMAIN_RE
from leadgate.ui.errors import PageForbidden, PasswordChangeRequired, SignInRequired
from leadgate.ui.templating import HERE, TEMPLATES, render

if TYPE_CHECKING:
    from leadgate.users.service import SignedIn

log = logging.getLogger(__name__)

UI_PREFIX = "/i/{subdomain}/ui"
_UI_PATH = re.compile(r"^/i/(?P<sub>[^/]+)/ui(?:/|$)")
# Everything the UI serves: every instance's pages and the landing page (`kit.asgi.PageHeaders`).
PAGE_PATHS = re.compile(r"^(?:/i/[^/]+/ui(?:/|$)|/$|/static/)")
_UI_API_PATH = re.compile(r"^/i/[^/]+/ui/api/")

Handler = Callable[[Request, Exception], Awaitable[Response]]


def _page_subdomain(request: Request) -> str | None:
    """The instance of a UI page request (None for the API and the UI's JSON endpoints)."""
    path = request.url.path
    if _UI_API_PATH.match(path):
        return None
    found = _UI_PATH.match(path)
    if found and SUBDOMAIN_RE.fullmatch(found["sub"]):
        return found["sub"]
    return None


# Who is signed in on a page request (`users.deps.signed_in_for_page`, given to mount_ui by the
# composition root: the UI is below the users package).
SignedInLookup = Callable[[Request, str], "SignedIn | None"]


def _error_page(
    request: Request, subdomain: str, status: int, title: str, detail: str, *, who: bool = True
) -> Response:
    """An error page; a signed-in person keeps the navigation (`who=False`: do not ask)."""
    me = None
    lookup: SignedInLookup | None = getattr(request.app.state, "ui_signed_in", None)
    if who and lookup is not None:
        try:
            me = lookup(request, subdomain)
        except Exception:  # the page says what went wrong; the navigation is a nicety
            log.warning("could not tell who is signed in for an error page", exc_info=True)
    return render(
        request,
        "error.html",
        {"title": title, "detail": detail},
        me=me,
        subdomain=subdomain,
        status=status,
    )


def _wrap(original: Handler, page: Callable[[Request, Exception, str], Response]) -> Handler:
    """Pages get an error page; everything else keeps the API's problem+json handler."""

    async def handler(request: Request, exc: Exception) -> Response:
        subdomain = _page_subdomain(request)
        if subdomain is None:
            return await original(request, exc)
        return page(request, exc, subdomain)

    return handler


def _leadgate_page(request: Request, exc: Exception, subdomain: str) -> Response:
    assert isinstance(exc, LeadgateError)
    titles = {404: "Not found", 401: "Please sign in", 403: "Not allowed", 409: "Not possible"}
    return _error_page(
        request, subdomain, exc.status, titles.get(exc.status, "That did not work"), exc.detail
    )


def _validation_page(request: Request, exc: Exception, subdomain: str) -> Response:
    return _error_page(
        request, subdomain, 404, "Not found", "This address does not lead to a page."
    )


def _http_page(request: Request, exc: Exception, subdomain: str) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 404:
        return _error_page(request, subdomain, 404, "Not found", "There is no such page.")
    if exc.status_code == 413:
        return _error_page(request, subdomain, 413, "Too large", "The upload is too large.")
    return _error_page(request, subdomain, exc.status_code, "That did not work", str(exc.detail))


def _unexpected_page(request: Request, exc: Exception, subdomain: str) -> Response:
    log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return _error_page(
        request,
        subdomain,
        500,
        "Something went wrong on our side",
        "It has been logged. Go back and try again; if it happens again, tell your admin.",
        who=False,  # the database may be what failed
    )


async def _sign_in_required(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignInRequired)
    if _UI_API_PATH.match(request.url.path):
        return problems.problem(401, "unauthorized", "Your session has ended: sign in again.")
    return RedirectResponse(exc.location, status_code=303)


async def _password_change_required(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PasswordChangeRequired)
    if _UI_API_PATH.match(request.url.path):
        return problems.problem(403, "password_change_required", "Choose a new password first.")
    return RedirectResponse(exc.location, status_code=303)


async def _forbidden(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PageForbidden)
    if _UI_API_PATH.match(request.url.path):
        return problems.problem(403, "forbidden", exc.detail)
    return render(
        request, "error.html", {"title": exc.title, "detail": exc.detail}, me=exc.me, status=403
    )


landing = APIRouter(include_in_schema=False)


@landing.get("/favicon.ico")
def favicon() -> FileResponse:
    """The icon, for browsers (and the API docs) that ask for it where no page named it."""
    return FileResponse(HERE / "static" / "favicon.svg", media_type="image/svg+xml")


@landing.get("/", response_class=HTMLResponse)
def landing_page(request: Request) -> HTMLResponse:
    """How to reach an instance (not a list of them: that would tell strangers who uses us)."""
    return TEMPLATES.TemplateResponse(request, "landing.html", {"error": None})


@landing.post("/", response_class=HTMLResponse, response_model=None)
def landing_go(
    request: Request, subdomain: Annotated[str, Form(max_length=63)] = ""
) -> HTMLResponse | RedirectResponse:
    """Go to an instance's sign-in page."""
    sub = subdomain.strip().lower()
    if not SUBDOMAIN_RE.fullmatch(sub):
        return TEMPLATES.TemplateResponse(
            request,
            "landing.html",
            {"error": "Enter your instance's name: lowercase letters, digits and hyphens."},
            status_code=422,
        )
    return RedirectResponse(f"/i/{sub}/ui/sign-in", status_code=303)


def mount_ui(
    app: FastAPI, routers: Sequence[APIRouter], signed_in: SignedInLookup | None = None
) -> None:
    """Add the domains' pages, their static files, the landing page and the page error handlers
    (`signed_in` tells who is signed in, so error pages keep the navigation)."""
    app.state.ui_signed_in = signed_in
    pages = APIRouter(prefix=UI_PREFIX, include_in_schema=False)
    for router in routers:
        pages.include_router(router)
    app.include_router(pages)
    app.include_router(landing)
    app.mount(f"{UI_PREFIX}/static", StaticFiles(directory=HERE / "static"), name="ui-static")
    # The landing page's stylesheet (it belongs to no instance).
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    for exc_type, page in (
        (LeadgateError, _leadgate_page),
        (RequestValidationError, _validation_page),
        (StarletteHTTPException, _http_page),
        (Exception, _unexpected_page),
    ):
        original = cast(Handler, app.exception_handlers[exc_type])
        app.add_exception_handler(exc_type, _wrap(original, page))
    app.add_exception_handler(SignInRequired, _sign_in_required)
    app.add_exception_handler(PasswordChangeRequired, _password_change_required)
    app.add_exception_handler(PageForbidden, _forbidden)
