"""Pages: validation lists, their values, CSV import with progress, and download."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from pydantic import ValidationError

from leadgate.errors import InvalidRequest, LeadgateError
from leadgate.instances.deps import DbSession
from leadgate.kit.params import Id
from leadgate.kit.repository import TenantScope
from leadgate.lists import endpoints as lists_api
from leadgate.lists import hooks, service
from leadgate.lists.schemas import ImportMode, ImportResult, ListCreate, ValuesPatch
from leadgate.ui.forms import Problems, attempt, from_error, from_validation
from leadgate.ui.templating import base_url, render, see_other
from leadgate.users.deps import AdminPost, AdminUser, caller_of, scope_of

router = APIRouter()

VALUES_PAGE = 100
Header = Literal["auto", "yes", "no"]


def _lines(text: str) -> list[str]:
    return [v.strip() for v in text.replace("\r\n", "\n").split("\n") if v.strip()]


def _index(
    request: Request,
    me: AdminUser,
    scope: TenantScope,
    *,
    problems: Problems | None = None,
    form: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "lists/list.html",
        {
            "title": "Validation lists",
            "lists": service.list_all(scope),
            "problems": problems or Problems(),
            "form": form or {},
        },
        me=me,
        status=status,
    )


@router.get("/lists", response_class=HTMLResponse)
def lists_page(request: Request, me: AdminUser, session: DbSession) -> HTMLResponse:
    """Every list with its value count and version, and a form for a new one."""
    return _index(request, me, scope_of(session, me))


@router.post("/lists", response_class=HTMLResponse, response_model=None)
def create_list(
    request: Request,
    me: AdminPost,
    session: DbSession,
    name: Annotated[str, Form(max_length=1000)] = "",
    values: Annotated[str, Form()] = "",
) -> Response:
    """A new list, with values typed one per line (or none: import a CSV next)."""
    scope = scope_of(session, me)
    form = {"name": name, "values": values}
    try:
        body = ListCreate(name=name.strip(), values=_lines(values))
        with attempt(session):
            row = service.create(scope, body.name, body.values)
    except ValidationError as exc:
        return _index(request, me, scope, problems=from_validation(exc), form=form, status=422)
    except LeadgateError as exc:
        problems = Problems(fields={"values": exc.detail})
        return _index(request, me, scope, problems=problems, form=form, status=422)
    return see_other(f"{base_url(me.subdomain)}/lists/{row.id}?notice=created")


def _detail(
    request: Request,
    me: AdminUser,
    scope: TenantScope,
    list_id: int,
    *,
    search: str = "",
    cursor: str | None = None,
    problems: Problems | None = None,
    form: dict[str, str] | None = None,
    report: ImportResult | None = None,
    status: int = 200,
) -> HTMLResponse:
    row = service.get(scope, list_id)
    page = service.values_page(
        scope, list_id, limit=VALUES_PAGE, cursor=cursor, search=search.strip() or None
    )
    return render(
        request,
        "lists/detail.html",
        {
            "title": row.name,
            "lst": row,
            "page": page,
            "search": search,
            "first_page": cursor is None,
            "used_by": hooks.users_of(scope, list_id),
            "problems": problems or Problems(),
            "form": form or {},
            "report": report,
        },
        me=me,
        status=status,
    )


@router.get("/lists/{list_id}", response_class=HTMLResponse)
def list_page(
    request: Request,
    list_id: Id,
    me: AdminUser,
    session: DbSession,
    search: Annotated[str, Query(max_length=200)] = "",
    cursor: str | None = None,
) -> HTMLResponse:
    """A list: search and page through its values, change them, import, download, delete."""
    return _detail(request, me, scope_of(session, me), list_id, search=search, cursor=cursor)


@router.post("/lists/{list_id}/values", response_class=HTMLResponse, response_model=None)
def change_values(
    request: Request,
    list_id: Id,
    me: AdminPost,
    session: DbSession,
    add: Annotated[str, Form()] = "",
    remove: Annotated[str, Form()] = "",
) -> Response:
    """Add and remove values (one per line) as one new version."""
    scope = scope_of(session, me)
    form = {"add": add, "remove": remove}
    try:
        body = ValuesPatch(add=_lines(add), remove=_lines(remove))
        if not body.add and not body.remove:
            raise InvalidRequest("Type the values to add or remove, one per line.")
        with attempt(session):
            service.patch_values(scope, list_id, body.add, body.remove)
    except ValidationError as exc:
        problems = from_validation(exc)
        return _detail(request, me, scope, list_id, problems=problems, form=form, status=422)
    except LeadgateError as exc:
        problems = from_error(exc)
        return _detail(request, me, scope, list_id, problems=problems, form=form, status=422)
    return see_other(f"{base_url(me.subdomain)}/lists/{list_id}?notice=values_changed")


def _check_import_options(mode: str, header: str) -> tuple[ImportMode, Header]:
    if mode not in ("add", "replace", "remove") or header not in ("auto", "yes", "no"):
        raise InvalidRequest("Choose how to import: add, replace or remove; header auto/yes/no.")
    return mode, header  # type: ignore[return-value]


@router.post("/api/lists/{list_id}/import", response_model=ImportResult)
async def import_xhr(
    request: Request,
    list_id: Id,
    me: AdminPost,
    session: DbSession,
    mode: str = "add",
    header: str = "auto",
) -> ImportResult:
    """CSV import for the page's script (the body is the file, so the upload shows progress)."""
    checked_mode, checked_header = _check_import_options(mode, header)
    body = await lists_api.csv_body(request)
    scope = scope_of(session, me)
    return await run_in_threadpool(
        service.import_csv, scope, list_id, body, checked_mode, header=checked_header
    )


@router.post("/lists/{list_id}/import", response_class=HTMLResponse)
async def import_form(
    request: Request,
    list_id: Id,
    me: AdminPost,
    session: DbSession,
    file: Annotated[UploadFile | None, File()] = None,
    mode: Annotated[str, Form()] = "add",
    header: Annotated[str, Form()] = "auto",
) -> HTMLResponse:
    """The same import as a plain form post, for browsers without scripts."""
    scope = scope_of(session, me)
    try:
        checked_mode, checked_header = _check_import_options(mode, header)
        if file is None:
            raise InvalidRequest("Choose a CSV file to import.")
        body = await file.read()

        def run() -> ImportResult:
            with attempt(session):
                return service.import_csv(scope, list_id, body, checked_mode, header=checked_header)

        report = await run_in_threadpool(run)
    except LeadgateError as exc:
        problems = Problems(fields={"file": exc.detail})
        return await run_in_threadpool(
            _detail, request, me, scope, list_id, problems=problems, status=422
        )
    return await run_in_threadpool(_detail, request, me, scope, list_id, report=report)


@router.get("/lists/{list_id}/download", response_class=StreamingResponse)
def download(list_id: Id, me: AdminUser, session: DbSession) -> StreamingResponse:
    """The whole list as a CSV file for a spreadsheet (the API's download with formula-like
    values neutralised, for the signed-in admin)."""
    return lists_api.download(list_id, caller_of(me), session, neutralise=True)


@router.post("/lists/{list_id}/privacy", response_class=HTMLResponse, response_model=None)
def set_privacy(
    request: Request,
    list_id: Id,
    me: AdminPost,
    session: DbSession,
    private: Annotated[str, Form()] = "",
) -> Response:
    """The "Private" switch: on, publishers get keyed hashes only; off, the values."""
    scope = scope_of(session, me)
    wanted = private == "on"
    try:
        with attempt(session):
            service.update(scope, list_id, private=wanted)
    except LeadgateError as exc:
        return _detail(request, me, scope, list_id, problems=from_error(exc), status=422)
    notice = "made_private" if wanted else "made_public"
    return see_other(f"{base_url(me.subdomain)}/lists/{list_id}?notice={notice}")


@router.post("/lists/{list_id}/rotate-key", response_class=HTMLResponse, response_model=None)
def rotate_key(request: Request, list_id: Id, me: AdminPost, session: DbSession) -> Response:
    """A new hash key for a private list; every mirror re-syncs under it."""
    scope = scope_of(session, me)
    try:
        with attempt(session):
            service.rotate_key(scope, list_id)
    except LeadgateError as exc:
        return _detail(request, me, scope, list_id, problems=from_error(exc), status=422)
    return see_other(f"{base_url(me.subdomain)}/lists/{list_id}?notice=key_rotated")


@router.post("/lists/{list_id}/delete", response_class=HTMLResponse, response_model=None)
def delete_list(request: Request, list_id: Id, me: AdminPost, session: DbSession) -> Response:
    """Delete a list no job uses."""
    scope = scope_of(session, me)
    try:
        with attempt(session):
            service.delete(scope, list_id, in_use_by=hooks.users_of(scope, list_id))
    except LeadgateError as exc:
        return _detail(request, me, scope, list_id, problems=from_error(exc), status=409)
    return see_other(f"{base_url(me.subdomain)}/lists?notice=deleted")
