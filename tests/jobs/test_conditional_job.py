"""conditional_validation: ANY / ALL, negate, messages."""

from typing import Any

import pytest
from pydantic import ValidationError

from leadgate.jobs.conditional import ConditionalConfig, ConditionalJob
from leadgate.processr.plugin import Flag, JobResult, StaticContext

JOB = ConditionalJob()

COUNTRY_US = {"field_name": "country", "operator": "EQUAL", "values": ["US"]}
ADULT = {"field_name": "age", "operator": "GREATERTHAN", "values": ["17"]}


def run(data: dict[str, Any], overall: str, *sections: dict[str, Any]) -> JobResult:
    config = ConditionalConfig.model_validate({"overall": overall, "sections": list(sections)})
    return JOB.run(data, config, StaticContext())


@pytest.mark.parametrize(
    ("data", "all_passes", "any_passes"),
    [
        ({"country": "US", "age": 30}, True, True),
        ({"country": "US", "age": 12}, False, True),
        ({"country": "CA", "age": 30}, False, True),
        ({"country": "CA", "age": 12}, False, False),
        ({}, False, False),
    ],
)
def test_any_and_all(data: dict[str, Any], all_passes: bool, any_passes: bool) -> None:
    assert run(data, "ALL", COUNTRY_US, ADULT).passed is all_passes
    assert run(data, "ANY", COUNTRY_US, ADULT).passed is any_passes


def test_negate() -> None:
    not_us = COUNTRY_US | {"negate": True}
    assert run({"country": "CA"}, "ALL", not_us).passed is True
    assert run({"country": "US"}, "ALL", not_us).passed is False
    assert run({}, "ALL", not_us).passed is True


def test_a_non_number_never_holds_even_negated() -> None:
    assert run({"age": "old"}, "ALL", ADULT).passed is False
    assert run({"age": "old"}, "ALL", ADULT | {"negate": True}).passed is False


def test_case_sensitivity_per_condition() -> None:
    assert run({"country": "us"}, "ALL", COUNTRY_US).passed is False
    assert run({"country": "us"}, "ALL", COUNTRY_US | {"case_sensitive": False}).passed is True


def test_all_message_names_the_failed_conditions() -> None:
    result = run(
        {"country": "US", "age": "old"},
        "ALL",
        COUNTRY_US | {"negate": True},
        ADULT,
        {"field_name": "email", "operator": "EXISTS"},
        {"field_name": "company", "operator": "CONTAINS", "values": ["Acme"]},
    )
    assert result.flags == [
        Flag(
            "conditional.failed",
            "The lead does not meet 4 of 4 required conditions: country NOT EQUAL US "
            "(value supplied: US); age GREATERTHAN 17 (needs a number, value supplied: old); "
            "email EXISTS (no value supplied); company CONTAINS Acme (no value supplied)",
        )
    ]


def test_any_message_and_long_value_lists_are_shortened() -> None:
    many = {"field_name": "state", "operator": "EQUAL", "values": [f"S{i}" for i in range(8)]}
    result = run({"state": "TX", "country": "CA"}, "ANY", COUNTRY_US, many)
    assert result.flags == [
        Flag(
            "conditional.failed",
            "The lead meets none of the conditions: country EQUAL US (value supplied: CA); "
            "state EQUAL S0, S1, S2, S3, S4 (and 3 more) (value supplied: TX)",
        )
    ]


def test_only_failed_conditions_are_named_for_all() -> None:
    result = run({"country": "US", "age": 3}, "ALL", COUNTRY_US, ADULT)
    assert result.flags[0].message == (
        "The lead does not meet 1 of 2 required conditions: age GREATERTHAN 17 (value supplied: 3)"
    )


def test_needs_at_least_one_condition() -> None:
    with pytest.raises(ValidationError):
        ConditionalConfig.model_validate({"overall": "ALL", "sections": []})
    with pytest.raises(ValidationError):
        ConditionalConfig.model_validate({"overall": "SOME", "sections": [COUNTRY_US]})
