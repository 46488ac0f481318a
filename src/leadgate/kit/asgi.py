"""Small ASGI middlewares: body size cap, Host-header instance routing, page headers."""

from __future__ import annotations

import json
import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from leadgate.errors import TooLarge
from leadgate.kit.subdomains import SUBDOMAIN_RE


async def _send_problem(send: Send, status: int, code: str, detail: str) -> None:
    body = json.dumps(
        {
            "type": "about:blank",
            "title": "Content Too Large",
            "status": status,
            "code": code,
            "detail": detail,
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


TOO_LARGE_FLAG = "leadgate_body_too_large"


class BodySizeLimit:
    """Answer 413 too_large for bodies over the cap (CSV imports get the bigger upload cap)."""

    def __init__(self, app: ASGIApp, *, max_bytes: int, max_upload_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_upload_bytes = max_upload_bytes

    def _limit(self, scope: Scope) -> int:
        path: str = scope.get("path", "")
        return self.max_upload_bytes if path.endswith("/import") else self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._limit(scope)
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > limit:
                await _send_problem(send, 413, "too_large", f"The body is over {limit} bytes.")
                return
        received = 0

        async def capped_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # Raised inside the app, so the problem+json handlers answer 413; the flag
                    # tells them even when a framework layer re-wraps the error as a 400.
                    scope.setdefault("state", {})[TOO_LARGE_FLAG] = limit
                    raise TooLarge(f"The body is over {limit} bytes.")
            return message

        await self.app(scope, capped_receive, send)


class HostRouting:
    """With a base domain, `acme.<base_domain>/api/v1/...` is served as `/i/acme/api/v1/...`."""

    def __init__(self, app: ASGIApp, *, base_domain: str | None) -> None:
        self.app = app
        self.suffix = "." + base_domain.lower().strip(".") if base_domain else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.suffix and scope["type"] == "http":
            host = _host(scope)
            if host.endswith(self.suffix):
                sub = host[: -len(self.suffix)]
                path: str = scope["path"]
                if SUBDOMAIN_RE.fullmatch(sub) and not path.startswith("/i/"):
                    scope = dict(scope)
                    scope["path"] = f"/i/{sub}{path}"
                    scope["raw_path"] = scope["path"].encode()
        await self.app(scope, receive, send)


def _host(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"host":
            return str(value.decode("latin-1").split(":")[0].lower())
    return ""


# What the pages need: their own scripts, styles and fetches, nothing inline, never framed.
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; object-src 'none'"
)
_PAGE_HEADERS = (
    (b"content-security-policy", PAGE_CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
)


class PageHeaders:
    """Security headers on the web pages (paths that `pages` matches): a Content-Security-Policy
    that allows only the UI's own static script and styles, and no framing (clickjacking)."""

    def __init__(self, app: ASGIApp, *, pages: re.Pattern[str]) -> None:
        self.app = app
        self.pages = pages

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.pages.match(scope["path"]):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(n, v) for n, v in _PAGE_HEADERS if n not in present]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)
