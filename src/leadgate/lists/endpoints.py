"""Admin API: validation lists, their values, CSV import and download."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from starlette.datastructures import UploadFile

from leadgate.errors import InvalidRequest, UnsupportedMediaType
from leadgate.instances.deps import Admin, DbSession
from leadgate.kit.pagination import Page
from leadgate.kit.params import Id
from leadgate.kit.problems import problem_responses
from leadgate.kit.repository import TenantScope
from leadgate.lists import csv_values, hooks, service
from leadgate.lists.schemas import (
    ImportMode,
    ImportResult,
    ListCreate,
    ListOut,
    ListPatch,
    ValuesPatch,
    VersionOut,
)

router = APIRouter(tags=["validation lists"], responses=problem_responses(401, 404, 409, 413, 422))

# Bodies that are the CSV itself: no type at all (scripts), and the form type `curl -d` and
# `--data-binary` send by default (the README's example), besides the CSV types.
_CSV_TYPES = frozenset(
    {
        "",
        "application/x-www-form-urlencoded",
        "text/csv",
        "text/plain",
        "application/csv",
        "text/comma-separated-values",
        "application/vnd.ms-excel",  # what Windows browsers call a .csv file
        "application/octet-stream",
    }
)


async def csv_body(request: Request) -> bytes:
    """The CSV an import carries, as its Content-Type says: the body itself (text/csv,
    text/plain, or none), or the file part of a multipart/form-data upload; else 415."""
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media in _CSV_TYPES:
        return await request.body()
    if media == "multipart/form-data":
        async with request.form() as form:  # closes the parts' temporary files
            files = [v for v in form.values() if isinstance(v, UploadFile)]
            named = form.get("file")
            chosen = (
                named if isinstance(named, UploadFile) else files[0] if len(files) == 1 else None
            )
            if chosen is None:
                raise InvalidRequest(
                    "The multipart upload has no file to import: send the CSV as its part "
                    "named `file`.",
                    code="no_file",
                )
            return await chosen.read()
    raise UnsupportedMediaType(
        f"An import takes a CSV: send it as the body with Content-Type text/csv (or "
        f"text/plain), or as the `file` part of a multipart/form-data upload, not {media}."
    )


@router.post("/lists", status_code=201, response_model=ListOut)
def create_list(body: ListCreate, caller: Admin, session: DbSession) -> ListOut:
    """Create a validation list, optionally with its first values."""
    scope = TenantScope(session, caller.instance_id)
    return service.to_out(service.create(scope, body.name, body.values))


@router.get("/lists", response_model=Page[ListOut])
def list_lists(caller: Admin, session: DbSession) -> Page[ListOut]:
    """Every validation list of the instance with its version and value count."""
    rows = service.list_all(TenantScope(session, caller.instance_id))
    return Page[ListOut](items=[service.to_out(r) for r in rows])


@router.get("/lists/{list_id}", response_model=ListOut)
def get_list(list_id: Id, caller: Admin, session: DbSession) -> ListOut:
    """One list: name, version and value count."""
    return service.to_out(service.get(TenantScope(session, caller.instance_id), list_id))


@router.patch("/lists/{list_id}", response_model=ListOut)
def patch_list(list_id: Id, body: ListPatch, caller: Admin, session: DbSession) -> ListOut:
    """Rename a list, or make it private (its values then leave this instance only as keyed
    hashes) or public again. Either switch is a new version every mirror re-syncs to. Making
    it private while a `contains` job uses it answers 422 contains_on_private_list."""
    scope = TenantScope(session, caller.instance_id)
    return service.to_out(service.update(scope, list_id, name=body.name, private=body.private))


@router.post("/lists/{list_id}/rotate-key", response_model=ListOut)
def rotate_key(list_id: Id, caller: Admin, session: DbSession) -> ListOut:
    """A new hash key for a private list (422 list_not_private otherwise): a new version,
    and every mirror re-syncs in full under the new key."""
    scope = TenantScope(session, caller.instance_id)
    return service.to_out(service.rotate_key(scope, list_id))


@router.patch("/lists/{list_id}/values", response_model=VersionOut)
def patch_values(list_id: Id, body: ValuesPatch, caller: Admin, session: DbSession) -> VersionOut:
    """Add and remove values: one change, one new version."""
    scope = TenantScope(session, caller.instance_id)
    row = service.patch_values(scope, list_id, body.add, body.remove)
    return VersionOut(version=row.version, value_count=row.value_count)


@router.post(
    "/lists/{list_id}/import",
    response_model=ImportResult,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "text/plain": {"schema": {"type": "string"}},
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {"file": {"type": "string", "format": "binary"}},
                        "required": ["file"],
                    }
                },
            },
        }
    },
    responses=problem_responses(415),
)
async def import_values(
    list_id: Id,
    request: Request,
    caller: Admin,
    session: DbSession,
    mode: ImportMode = "add",
    header: Annotated[
        Literal["auto", "yes", "no"],
        Query(
            description="Is the first line a header? `auto`: when it is a word like "
            "`domain`, `email`, `company`, `value` or the list's name."
        ),
    ] = "auto",
) -> ImportResult:
    """Import a CSV (first column; UTF-8 with or without BOM; \\n or \\r\\n line ends).

    The body is the CSV (Content-Type text/csv or text/plain), or a multipart/form-data upload
    with the CSV as its `file` part; another Content-Type answers 415. Good lines are applied
    as one version; each bad line is reported with its number and reason.
    """
    body = await csv_body(request)
    scope = TenantScope(session, caller.instance_id)
    return await run_in_threadpool(service.import_csv, scope, list_id, body, mode, header=header)


@router.get("/lists/{list_id}/values", response_model=Page[str])
def list_values(
    list_id: Id,
    caller: Admin,
    session: DbSession,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: str | None = None,
    search: Annotated[str | None, Query(max_length=200)] = None,
) -> Page[str]:
    """The list's values in order, paginated; `search` filters by substring."""
    scope = TenantScope(session, caller.instance_id)
    return service.values_page(scope, list_id, limit=limit, cursor=cursor, search=search)


@router.get("/lists/{list_id}/download", response_class=StreamingResponse)
def download(
    list_id: Id,
    caller: Admin,
    session: DbSession,
    neutralise: Annotated[
        bool,
        Query(
            description="For a file people open in a spreadsheet: values that start with "
            "`=`, `+`, `-`, `@`, a tab or a CR get a `'` in front, so they show as text and are "
            "never run as formulas (OWASP CSV injection). Off by default: the exact values, "
            "which import back into an identical list. The web page's download turns it on."
        ),
    ] = False,
) -> StreamingResponse:
    """The whole list as a one-column CSV."""
    scope = TenantScope(session, caller.instance_id)
    row = service.get(scope, list_id)
    values = service.all_values(session, row.id)
    values.sort()

    def lines() -> object:
        yield "value\r\n"
        for v in values:
            yield csv_values.csv_cell(v, neutralise=neutralise) + "\r\n"

    filename = f"list-{row.id}-v{row.version}.csv"
    return StreamingResponse(
        lines(),  # type: ignore[arg-type]
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.delete("/lists/{list_id}", status_code=204)
def delete_list(list_id: Id, caller: Admin, session: DbSession) -> Response:
    """Delete a list; 409 list_in_use while a Processr job uses it."""
    scope = TenantScope(session, caller.instance_id)
    service.delete(scope, list_id, in_use_by=hooks.users_of(scope, list_id))
    return Response(status_code=204)
