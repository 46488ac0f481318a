"""multiple_empty_fields: what counts as empty, repeats, config errors; against a reference."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from leadgate.jobs.multiple_empty_fields import MultipleEmptyFieldsConfig, MultipleEmptyFieldsJob
from leadgate.processr.plugin import Flag, StaticContext

JOB = MultipleEmptyFieldsJob()
FIELDS = ["firstName", "email", "company", "phone", "city"]


def judge(data: dict[str, Any], fields: list[str] = FIELDS, **config: Any) -> list[Flag]:
    parsed = MultipleEmptyFieldsConfig.model_validate({"fields": fields, **config})
    result = JOB.run(data, parsed, StaticContext())
    assert result.passed is (not result.flags)
    return result.flags


def test_two_empty_pass_three_fail_by_default() -> None:
    assert judge({"firstName": "Ann", "email": "a@b.example", "company": "Acme"}) == []
    assert judge({"firstName": "Ann", "email": "a@b.example", "company": ""}) == [
        Flag(
            "multiple_empty_fields.too_many",
            "3 of 5 fields are empty: company, phone and city (at most 2 may be)",
        )
    ]


def test_missing_none_and_blank_are_empty_false_and_zero_are_not() -> None:
    data = {"firstName": None, "email": " \t", "company": "", "phone": 0, "city": False}
    assert judge(data)[0].message == (
        "3 of 5 fields are empty: firstName, email and company (at most 2 may be)"
    )
    assert judge(data, max_empty=3) == []


def test_a_field_listed_twice_counts_once() -> None:
    assert judge({}, ["a", "b", "a"], max_empty=1)[0].message == (
        "2 of 2 fields are empty: a and b (at most 1 may be)"
    )


def test_max_0_means_every_field_filled_in() -> None:
    assert judge({"a": "x"}, ["a", "b"], max_empty=0)[0].message == (
        "1 of 2 fields is empty: b (at most 0 may be)"
    )


def test_summary() -> None:
    assert JOB.summary(MultipleEmptyFieldsConfig(fields=FIELDS), {}) == "at most 2 empty"


@pytest.mark.parametrize(
    ("config", "where", "says"),
    [
        ({"fields": []}, "fields", "at least 1 item"),
        ({"max_empty": 2}, "fields", "Field required"),
        ({"fields": ["a", "b"]}, "max_empty", "below the number of fields counted (2)"),
        ({"fields": ["a", "a", "b"], "max_empty": 2}, "max_empty", "fields counted (2)"),
        ({"fields": ["a", "b", "c"], "max_empty": -1}, "max_empty", "greater than or equal"),
    ],
)
def test_bad_configs_name_the_key(config: dict[str, Any], where: str, says: str) -> None:
    with pytest.raises(ValidationError) as caught:
        MultipleEmptyFieldsConfig.model_validate(config)
    errors = caught.value.errors()
    assert any(e["loc"] == (where,) and says in e["msg"] for e in errors), errors


def reference_empty(data: dict[str, Any], fields: list[str]) -> int:
    seen: list[str] = []
    for name in fields:
        if name not in seen:
            seen.append(name)
    count = 0
    for name in seen:
        value = data.get(name)
        if value is None or (isinstance(value, str) and value.strip() == ""):
            count += 1
    return count


NAMES = st.sampled_from(["a", "b", "c", "d", "e"])
VALUES = st.one_of(
    st.none(),
    st.sampled_from(["", " ", "\t\n", "x", " y "]),
    st.text(max_size=3),
    st.booleans(),
    st.integers(-2, 2),
    st.floats(allow_nan=False, allow_infinity=False),
)


@given(
    st.dictionaries(NAMES, VALUES, max_size=5),
    st.lists(NAMES, min_size=1, max_size=8),
    st.integers(0, 4),
)
def test_matches_the_reference(data: dict[str, Any], fields: list[str], limit: int) -> None:
    limit = min(limit, len(set(fields)) - 1)
    passed = judge(data, fields, max_empty=limit) == []
    assert passed == (reference_empty(data, fields) <= limit)
