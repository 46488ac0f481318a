"""Calling a client while a user waits (dropdowns, saving a job): peer errors as API errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from leadgate.errors import BadGateway, InvalidRequest
from leadgate.peer.client import PeerError, PeerUnavailable

T = TypeVar("T")


def call(fn: Callable[[], T]) -> T:
    """Run a peer call; no instance of the subdomain → 422 connect_no_instance, refused key →
    422 connect_credentials_rejected, unreachable or 5xx →
    502 connect_unreachable, other refusals → 422 connect_rejected."""
    try:
        return fn()
    except PeerUnavailable as exc:
        if exc.no_instance:
            raise InvalidRequest(
                f"{str(exc).capitalize()}: check the subdomain.", code="connect_no_instance"
            ) from exc
        if exc.credentials_rejected:
            raise InvalidRequest(
                f"The client refused this API key: {exc}", code="connect_credentials_rejected"
            ) from exc
        raise BadGateway(
            f"The client instance is unreachable: {exc}", code="connect_unreachable"
        ) from exc
    except PeerError as exc:
        raise InvalidRequest(str(exc), code="connect_rejected") from exc
