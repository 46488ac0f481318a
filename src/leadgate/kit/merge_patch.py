"""JSON Merge Patch (RFC 7396): how a PATCH with a partial document changes a stored one."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def merge_patch(target: Any, patch: Any) -> Any:
    """`target` changed by `patch`: keys present replace, `null` removes, absent keys stay.

    A patch that is not an object replaces the target whole (RFC 7396, section 2); neither
    argument is modified.
    """
    if not isinstance(patch, Mapping):
        return patch
    out = dict(target) if isinstance(target, Mapping) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out
