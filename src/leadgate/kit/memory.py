"""Keeping the garbage collector off the long-lived heap.

A server process holds a large heap that lives as long as the process: imported modules, the
app, compiled validation lists. CPython's full collection walks all of it, and under load one
ran every few seconds, stalling requests by up to ~300 ms on a 2-core VM (bench/RESULTS.md,
"Lead submission"). `settle()` collects once, then freezes what is left alive, so later
collections only look at objects created since.
"""

from __future__ import annotations

import gc


def settle() -> None:
    """Collect garbage now, then move every surviving object out of the collector's sight."""
    gc.collect()
    gc.freeze()
