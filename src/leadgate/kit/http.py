"""Outbound HTTP pieces every client shares."""

from __future__ import annotations

import functools
import ssl

import httpx


@functools.cache
def tls_context() -> ssl.SSLContext:
    """One TLS context per process: building one (loading the CA bundle) costs milliseconds,
    which every new client paid before (a third of a busy delivery drain's time)."""
    return httpx.create_ssl_context()
