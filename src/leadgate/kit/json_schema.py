"""What the keywords of our config JSON Schemas mean, for every reader of them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def is_secret(prop: Mapping[str, Any]) -> bool:
    """Whether a property holds a secret (`"x-secret": true` or `format: password`)."""
    return bool(prop.get("x-secret")) or prop.get("format") == "password"


def names_fields(prop: Mapping[str, Any]) -> bool:
    """Whether a property names fields of our campaign (`"x-options": "fields"`)."""
    return prop.get("x-options") == "fields"


def unmarked(prop: Mapping[str, Any]) -> bool:
    """Whether a property says nothing about where its dropdown choices come from."""
    return "x-options" not in prop
