"""Receiving a client's signed event over HTTP: one receiver for mirrors' and deliveries' events."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Request, Response
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from leadgate.errors import InvalidRequest, NotFound, Unauthorized
from leadgate.instances.service import get_instance
from leadgate.kit.problems import problem
from leadgate.peer.inbound import NOTHING_HERE

Receiver = Callable[[Session, int, int, bytes, dict[str, str]], bool]


async def receive_signed(
    subdomain: str, job_id: int, request: Request, session: Session, handler: Receiver
) -> Response:
    """Hand a client's signed event to `handler`; map its refusals to what the client needs.

    410 (the job or instance is gone here) ends the client's subscription; 401 is a bad
    signature or a stale timestamp; 422 an event we cannot apply. The database work runs in the
    thread pool: the handler is async only to read the raw body.
    """
    body = await request.body()
    instance = await run_in_threadpool(get_instance, session, subdomain)
    if instance is None:  # the same answer as an instance without that mirror
        return problem(410, "mirror_gone", NOTHING_HERE)
    try:
        await run_in_threadpool(handler, session, instance.id, job_id, body, dict(request.headers))
    except NotFound:
        return problem(410, "mirror_gone", NOTHING_HERE)
    except Unauthorized as exc:
        return problem(401, "bad_signature", exc.detail)
    except InvalidRequest as exc:
        return problem(422, exc.code, exc.detail, **exc.extra)
    return Response(status_code=204)
