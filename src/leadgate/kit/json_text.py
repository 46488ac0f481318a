"""JSON request bodies whose text is not Unicode: refused at the edge, for every route at once.

JSON can spell a lone surrogate (`"x\\ud800y"`), which is no Unicode character: Python's JSON
parser takes it, Pydantic lets it through a plain `str`, and it fails only when PostgreSQL is
handed the text (a 500 for list values, a misleading 422 elsewhere). This middleware reads each
JSON body before the app does and answers 422 invalid_request naming where in the document the
bad string is, so no route has to remember the check. Bodies without a `\\u` escape (nearly all)
cost one substring search. NUL (`\\u0000`) is left to the routes: it is valid Unicode, and the
lead routes name the field it is in.
"""

from __future__ import annotations

import json
import re
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from leadgate.errors import LeadgateError
from leadgate.kit.problems import problem

_SURROGATE = re.compile("[\ud800-\udfff]")
_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _is_json(scope: Scope) -> bool:
    for name, value in scope.get("headers", []):
        if name == b"content-type":
            media: bytes = value.split(b";", 1)[0].strip().lower()
            return media.endswith((b"/json", b"+json"))
    return True  # no content type: FastAPI reads the body as JSON


def bad_text(body: bytes) -> list[str] | None:
    """Where in a JSON document the first string (or key) with a lone surrogate is, as an
    error location (`[]`: the document is that string); None when there is none, or when the
    body is no JSON at all (the route's own parser answers that)."""
    if b"\\u" not in body:
        return None
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return None
    stack: list[tuple[list[str], Any]] = [([], document)]
    while stack:
        loc, value = stack.pop()
        if isinstance(value, str):
            if _SURROGATE.search(value):
                return loc
        elif isinstance(value, dict):
            for key, item in reversed(value.items()):
                if _SURROGATE.search(key):
                    return [*loc, key.encode("utf-8", "backslashreplace").decode()]
                stack.append(([*loc, key], item))
        elif isinstance(value, list):
            stack.extend(([*loc, str(i)], item) for i, item in reversed(list(enumerate(value))))
    return None


class JsonText:
    """Answer 422 invalid_request for a JSON body with a lone surrogate anywhere in it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _METHODS or not _is_json(scope):
            await self.app(scope, receive, send)
            return
        messages: list[Message] = []
        try:
            while True:
                message = await receive()
                messages.append(message)
                if message["type"] != "http.request" or not message.get("more_body", False):
                    break
        except LeadgateError as exc:  # the body-size cap, raised while reading
            await problem(exc.status, exc.code, exc.detail)(scope, receive, send)
            return
        if len(messages) == 1:  # the usual small body: one message
            body = messages[0].get("body", b"")
        else:
            body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.request")
        if b"\\u" in body:
            loc = bad_text(body)
            if loc is not None:
                await _refuse(loc, scope, receive, send)
                return

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)


async def _refuse(loc: list[str], scope: Scope, receive: Receive, send: Send) -> None:
    where = ".".join(loc) or "body"
    detail = (
        f"{where}: the text holds a lone surrogate (such as \\ud800), which is not a Unicode "
        "character; send valid Unicode text."
    )
    errors = [{"loc": ["body", *loc], "msg": detail, "type": "string_unicode"}]
    await problem(422, "invalid_request", detail, errors=errors)(scope, receive, send)
