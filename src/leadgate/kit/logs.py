"""Logging: plain lines by default, JSON lines with `LEADGATE_LOG_FORMAT=json`; every line logged
while a request is served carries its request id (`X-Request-Id`, taken from the request when
it sends a sane one, else made here, and sent back with the response)."""

from __future__ import annotations

import logging
import re
import uuid
from contextvars import ContextVar
from typing import IO, Literal

from pythonjsonlogger.json import JsonFormatter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID: ContextVar[str | None] = ContextVar("leadgate_request_id", default=None)
HEADER = b"x-request-id"
_SANE = re.compile(rb"[A-Za-z0-9._:-]{1,64}")

LogFormat = Literal["text", "json"]


class RequestIds:
    """ASGI middleware: a request id per HTTP request, in the context and in the answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sent = next((v for k, v in scope["headers"] if k == HEADER), b"")
        request_id = sent.decode() if _SANE.fullmatch(sent) else uuid.uuid4().hex
        token = REQUEST_ID.set(request_id)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (HEADER, request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            REQUEST_ID.reset(token)


class _WithRequestId(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        return True


def configure(
    log_format: LogFormat = "text", level: int = logging.INFO, stream: IO[str] | None = None
) -> None:
    """The root handler of this process: text lines, or one JSON object per line (on stderr
    unless `stream`)."""
    handler = logging.StreamHandler(stream)
    handler.addFilter(_WithRequestId())
    if log_format == "json":
        handler.setFormatter(
            JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            )
        )
    else:
        handler.setFormatter(logging.Formatter("%(levelname)-9s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    logging.getLogger("leadgate").setLevel(level)
