"""A per-key request limit over a fixed window, kept in this process's memory.

One API process: the limit is exact. Several API processes: each enforces it on its own share
(configure `LEADGATE_RATE_LIMIT_REQUESTS` per process). It costs no database round trip on
the lead hot path, which is the point.
"""

from __future__ import annotations

import math
import threading
import time


class RateLimiter:
    """At most `limit` hits per key in each `window` seconds."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self._lock = threading.Lock()
        self._counts: dict[object, tuple[float, int]] = {}

    def hit(self, key: object, now: float | None = None) -> int | None:
        """Count a hit; None when allowed, else the seconds to wait (for Retry-After)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            start, count = self._counts.get(key, (now, 0))
            if now - start >= self.window:
                start, count = now, 0
            if count >= self.limit:
                return max(1, math.ceil(start + self.window - now))
            self._counts[key] = (start, count + 1)
            if len(self._counts) > 100_000:
                self._forget_old(now)
            return None

    def _forget_old(self, now: float) -> None:
        for key in [k for k, (s, _) in self._counts.items() if now - s >= self.window]:
            del self._counts[key]
