"""Turning lead field values (str, int, float, bool, None) into the text jobs compare."""

import math
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)


def as_text(value: object) -> str:
    """The text form of a lead value: None is "", bools are "true"/"false", 10.0 is "10"."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return str(int(value))
    return str(value)


def field_text(data: Mapping[str, Any], field_name: str) -> str:
    """The text of a lead field, "" when it is missing."""
    return as_text(data.get(field_name))


def is_blank(text: str) -> bool:
    """True for "" and whitespace-only text: such a field counts as empty."""
    return not text.strip()


def as_number(text: str) -> Decimal | None:
    """Parse a plain decimal number ("12", "-3.5", "1e3"); anything else is None."""
    text = text.strip()
    if not _NUMBER.fullmatch(text):
        return None
    return Decimal(text)
