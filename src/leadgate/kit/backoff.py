"""Retry delays: exponential backoff with jitter, and Retry-After honoured."""

from __future__ import annotations

import random


def delay(attempt: int, *, base: float, cap: float, retry_after: float | None = None) -> float:
    """Seconds to wait before retry number `attempt` (1-based): base·2^(n-1), ±50 % jitter."""
    exponential = min(cap, base * float(2 ** max(0, attempt - 1)))
    jittered = exponential * random.uniform(0.5, 1.5)
    if retry_after is not None:
        return max(jittered, min(retry_after, cap))
    return min(jittered, cap)
