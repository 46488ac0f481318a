"""field_length: bounds, trimming, unicode, numbers, missing fields, config errors; a reference."""

from __future__ import annotations

import unicodedata
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from leadgate.jobs.field_length import FieldLengthConfig, FieldLengthJob
from leadgate.processr.plugin import Flag, StaticContext

JOB = FieldLengthJob()


def judge(value: Any, **bounds: Any) -> list[Flag]:
    config = FieldLengthConfig.model_validate({"field_name": "postcode", **bounds})
    data = {} if value is ... else {"postcode": value}
    result = JOB.run(data, config, StaticContext())
    assert result.passed is (not result.flags)
    return result.flags


def test_within_bounds_passes_and_the_bounds_are_inclusive() -> None:
    for value in ("SW1A", "SW1A 1", "SW1A 1AA"):
        assert judge(value, min=4, max=8) == []


def test_too_short_and_too_long_say_by_how_much() -> None:
    assert judge("SW1", min=4, max=8) == [
        Flag(
            "field_length.out_of_range",
            "The field postcode is 3 characters long; it must be 4 to 8 characters",
        )
    ]
    assert judge("SW1A 1AAX", max=8)[0].message == (
        "The field postcode is 9 characters long; it must be at most 8 characters"
    )
    assert judge("A", min=2)[0].message == (
        "The field postcode is 1 character long; it must be at least 2 characters"
    )
    assert judge("ABC", min=2, max=2)[0].message.endswith("it must be exactly 2 characters")


def test_missing_none_and_blank_are_empty() -> None:
    for value in (..., None, "", "   "):
        assert judge(value, min=1, max=5) == [
            Flag(
                "field_length.out_of_range",
                "The field postcode is empty; it must be 1 to 5 characters",
            )
        ]
        assert judge(value, max=5) == []


def test_surrounding_spaces_do_not_count_inner_ones_do() -> None:
    assert judge("  AB  ", max=2) == []
    assert judge("A B", max=2) != []


def test_numbers_and_booleans_are_measured_as_written() -> None:
    assert judge(12345, min=5, max=5) == []
    assert judge(10.0, max=2) == []  # "10"
    assert judge(1.5, min=3, max=3) == []  # "1.5"
    assert judge(False, min=5, max=5) == []  # "false"


def test_characters_not_bytes_or_code_points() -> None:
    decomposed = unicodedata.normalize("NFD", "José")
    assert len(decomposed) == 5
    assert judge(decomposed, max=4) == []
    assert judge("東京都", min=3, max=3) == []
    assert judge("Ünïcödé", min=7, max=7) == []


def test_summary() -> None:
    config = FieldLengthConfig(field_name="zip", min=5, max=10)
    assert JOB.summary(config, {}) == "5 to 10 characters"


@pytest.mark.parametrize(
    ("config", "where", "says"),
    [
        ({"min": 5, "max": 2}, "max", "the maximum (2) is below the minimum (5)"),
        ({}, "max", "set a maximum, or a minimum above 0"),
        ({"min": 0}, "max", "set a maximum"),
        ({"min": -1, "max": 3}, "min", "greater than or equal to 0"),
        ({"max": 0}, "max", "greater than or equal to 1"),
        ({"min": "five"}, "min", "valid integer"),
        ({"field_name": ""}, "field_name", "at least 1 character"),
        ({"minimum": 3}, "minimum", "Extra inputs"),
    ],
)
def test_bad_configs_name_the_key(config: dict[str, Any], where: str, says: str) -> None:
    with pytest.raises(ValidationError) as caught:
        FieldLengthConfig.model_validate({"field_name": "zip", **config})
    errors = caught.value.errors()
    assert any(e["loc"] == (where,) and says in e["msg"] for e in errors), errors


def test_a_minimum_alone_or_a_maximum_alone_is_enough() -> None:
    assert FieldLengthConfig(field_name="zip", min=3).max is None
    assert FieldLengthConfig(field_name="zip", max=3).min == 0


def reference_passes(value: str, low: int, high: int | None) -> bool:
    count = 0
    for _char in unicodedata.normalize("NFC", value.strip()):
        count += 1
    if count < low:
        return False
    return not (high is not None and count > high)


@given(
    st.text(max_size=30),
    st.integers(0, 20),
    st.none() | st.integers(1, 25),
)
def test_matches_the_reference(value: str, low: int, high: int | None) -> None:
    if high is not None and high < low:
        low, high = high, low
    if high is None and low == 0:
        low = 1
    assert (judge(value, min=low, max=high) == []) == reference_passes(value, low, high)
