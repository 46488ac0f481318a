"""Lead value normalisation and number parsing."""

from decimal import Decimal
from typing import Any

import pytest

from leadgate.processr.lead_values import as_number, as_text, is_blank


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, ""),
        (True, "true"),
        (False, "false"),
        (0, "0"),
        (10.0, "10"),
        (10.5, "10.5"),
        (-0.25, "-0.25"),
        (float("nan"), "nan"),
        ("  x ", "  x "),
    ],
)
def test_as_text(value: Any, text: str) -> None:
    assert as_text(value) == text


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("12", Decimal(12)),
        ("-3.5", Decimal("-3.5")),
        ("+.5", Decimal("0.5")),
        ("1e3", Decimal(1000)),
    ],
)
def test_numbers(text: str, number: Decimal) -> None:
    assert as_number(text) == number


@pytest.mark.parametrize("text", ["", "1,000", "1_000", "nan", "Infinity", "0x1f", "١٢", "12 kg"])
def test_not_numbers(text: str) -> None:
    assert as_number(text) is None


def test_blank() -> None:
    assert is_blank("") and is_blank(" \t\n")
    assert not is_blank(" a ")
