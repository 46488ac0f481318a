"""RFC 9457 problem documents for every error the API can answer."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from leadgate.errors import LeadgateError, RateLimited
from leadgate.kit.asgi import TOO_LARGE_FLAG

log = logging.getLogger(__name__)

PROBLEM = "application/problem+json"

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


def problem(status: int, code: str, detail: str, **extra: Any) -> JSONResponse:
    """A problem+json response."""
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "code": code,
        "detail": detail,
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM)


def _clean_errors(errors: Any) -> list[dict[str, Any]]:
    out = []
    for err in errors:
        out.append(
            {
                "loc": [str(p) for p in err.get("loc", ())],
                "msg": str(err.get("msg", "")),
                "type": str(err.get("type", "")),
            }
        )
    return out


async def _leadgate_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, LeadgateError)
    response = problem(exc.status, exc.code, exc.detail, **exc.extra)
    if isinstance(exc, RateLimited):
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


_NOT_JSON = "The request body is not valid JSON."
_NOT_JSON_ERRORS = [{"loc": ["body"], "msg": "Invalid JSON", "type": "json_invalid"}]


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = _clean_errors(exc.errors())
    if any(e["type"] == "json_invalid" for e in errors):
        detail = _NOT_JSON
    else:
        detail = "; ".join(f"{'.'.join(e['loc'][1:]) or 'body'}: {e['msg']}" for e in errors[:5])
    return problem(422, "invalid_request", detail, errors=errors)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    limit = request.scope.get("state", {}).get(TOO_LARGE_FLAG)
    if limit is not None:
        return problem(413, "too_large", f"The body is over {limit} bytes.")
    if exc.status_code == 400 and isinstance(exc.__cause__, ValueError | RecursionError):
        # FastAPI's "error parsing the body" for JSON it cannot decode (not UTF-8, nested too
        # deep): the same 422 the contract gives any invalid body, as the lead route answers.
        return problem(422, "invalid_request", _NOT_JSON, errors=_NOT_JSON_ERRORS)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    if exc.status_code == 404 and detail == "Not Found":
        detail = f"There is nothing at {request.url.path}."
    response = problem(exc.status_code, code, detail)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


async def _data_error(request: Request, exc: Exception) -> JSONResponse:
    # A value PostgreSQL cannot hold (a number beyond bigint, say) is bad input, not our fault.
    log.info("refused out-of-range input on %s %s: %s", request.method, request.url.path, exc)
    return problem(422, "invalid_request", "A value in the request is out of range.")


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return problem(500, "internal_error", "Something went wrong on our side; it has been logged.")


_HANDLERS: tuple[
    tuple[type[Exception], Callable[[Request, Exception], Awaitable[Response]]], ...
] = (
    (LeadgateError, _leadgate_error),
    (RequestValidationError, _validation_error),
    (StarletteHTTPException, _http_error),
    (DataError, _data_error),
    (Exception, _unexpected),
)


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into problem+json."""
    for kind, handler in _HANDLERS:
        app.add_exception_handler(kind, handler)


async def answer(request: Request, exc: Exception) -> Response:
    """The problem+json answer to an error, as the app's handlers give it (for an edge that
    answers outside FastAPI's routing)."""
    handler = next(h for kind, h in _HANDLERS if isinstance(exc, kind))
    return await handler(request, exc)


class Problem(BaseModel):
    """An RFC 9457 problem document (extra members such as `errors` or `fields` may follow)."""

    model_config = ConfigDict(extra="allow")

    type: str = "about:blank"
    title: str
    status: int
    code: str
    detail: str


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for the problem documents a route can answer."""
    return {
        status: {
            "model": Problem,
            "description": HTTPStatus(status).phrase,
            "content": {PROBLEM: {}},
        }
        for status in statuses
    }
