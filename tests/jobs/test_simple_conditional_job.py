"""simple_conditional_validation: each operator, case, numbers, blanks, limits, messages."""

from typing import Any

import pytest
from pydantic import ValidationError

from leadgate.jobs.simple_conditional import SimpleConditionalConfig, SimpleConditionalJob
from leadgate.processr.plugin import Flag, JobResult, StaticContext

JOB = SimpleConditionalJob()


def run(value: Any, operator: str, values: list[str], **config: Any) -> JobResult:
    model = SimpleConditionalConfig.model_validate(
        {"field_name": "company", "operator": operator, "values": values} | config
    )
    data = {} if value is ... else {"company": value}
    return JOB.run(data, model, StaticContext())


@pytest.mark.parametrize(
    ("value", "operator", "values", "passes"),
    [
        ("Acme Inc", "STARTSWITH", ["Glob", "Acme"], True),
        ("The Acme", "STARTSWITH", ["Acme"], False),
        ("Acme Inc", "ENDSWITH", ["LLC", "Inc"], True),
        ("Acme Inc.", "ENDSWITH", ["Inc"], False),
        ("The Acme Inc", "CONTAINS", ["Acme"], True),
        ("Initech", "CONTAINS", ["Acme"], False),
        ("US", "EQUAL", ["CA", "US"], True),
        ("USA", "EQUAL", ["US"], False),
        ("UK", "NOTEQUAL", ["CA", "US"], True),
        ("US", "NOTEQUAL", ["CA", "US"], False),
        ("x", "EXISTS", [], True),
        (0, "EXISTS", [], True),
        (False, "EXISTS", [], True),
    ],
)
def test_operators(value: Any, operator: str, values: list[str], passes: bool) -> None:
    assert run(value, operator, values).passed is passes


def test_notequal_must_hold_for_all_values() -> None:
    assert run("b", "NOTEQUAL", ["a", "c"]).passed is True
    assert run("c", "NOTEQUAL", ["a", "c"]).passed is False


def test_case_sensitive_by_default() -> None:
    assert run("acme inc", "STARTSWITH", ["Acme"]).passed is False
    assert run("acme inc", "STARTSWITH", ["Acme"], case_sensitive=False).passed is True
    assert run("us", "NOTEQUAL", ["US"]).passed is True
    assert run("us", "NOTEQUAL", ["US"], case_sensitive=False).passed is False
    assert run("STRASSE", "EQUAL", ["straße"], case_sensitive=False).passed is True


@pytest.mark.parametrize(
    ("value", "operator", "values", "passes"),
    [
        (19, "GREATERTHAN", ["18"], True),
        (18, "GREATERTHAN", ["18"], False),
        ("18.01", "GREATERTHAN", ["18"], True),
        (5, "GREATERTHAN", ["100", "4"], True),
        (18, "LESSTHAN", ["18"], True),
        ("18.0", "LESSTHAN", ["18"], True),
        (18.5, "LESSTHAN", ["18"], False),
        (-3, "LESSTHAN", ["-2.5"], True),
        ("1e3", "GREATERTHAN", ["999"], True),
        (" 20 ", "GREATERTHAN", ["18"], True),
        (12345678901234567891, "GREATERTHAN", ["12345678901234567890"], True),
    ],
)
def test_numeric_operators(value: Any, operator: str, values: list[str], passes: bool) -> None:
    assert run(value, operator, values).passed is passes


@pytest.mark.parametrize("value", ["abc", "1,000", "12 kg", "nan", "inf", True, "0x10", "1_000"])
def test_numeric_operators_on_non_numbers_have_their_own_flag(value: Any) -> None:
    result = run(value, "GREATERTHAN", ["1"])
    shown = "true" if value is True else value
    assert result.flags == [
        Flag(
            "simple_conditional.not_a_number",
            f"The field company with the operator GREATERTHAN needs a number. "
            f"The value supplied was {shown}",
        )
    ]


def test_non_number_in_a_constructed_rule_has_the_not_a_number_flag() -> None:
    rule = SimpleConditionalConfig.model_construct(
        field_name="age", operator="LESSTHAN", values=["ten"], case_sensitive=True
    )
    result = JOB.run({"age": 5}, rule, StaticContext())
    assert result.flags == [
        Flag(
            "simple_conditional.not_a_number",
            "The field age with the operator LESSTHAN compares with a value that is not a "
            "number: ten",
        )
    ]


@pytest.mark.parametrize("value", [..., None, "", "  "])
def test_blank_values(value: Any) -> None:
    for operator in ["STARTSWITH", "ENDSWITH", "CONTAINS", "EQUAL", "GREATERTHAN", "LESSTHAN"]:
        result = run(value, operator, ["1"])
        assert result.flags == [
            Flag(
                "simple_conditional.failed",
                f"The field company with the operator {operator} was not found in the list of "
                "values. No value was supplied",
            )
        ]
    assert run(value, "NOTEQUAL", ["x"]).passed is True
    assert run(value, "EXISTS", []).flags == [
        Flag("simple_conditional.failed", "The field company with the operator EXISTS has no value")
    ]


def test_failure_message_matches_the_market_leader_wording() -> None:
    assert run("Acme", "STARTSWITH", ["Glob"]).flags == [
        Flag(
            "simple_conditional.failed",
            "The field company with the operator STARTSWITH was not found in the list of values. "
            "The value supplied was Acme",
        )
    ]
    assert run(" Acme ", "NOTEQUAL", ["Acme"]).flags == [
        Flag(
            "simple_conditional.failed",
            "The field company with the operator NOTEQUAL matched a value in the list of values. "
            "The value supplied was Acme",
        )
    ]


def test_values_limit() -> None:
    assert run("v199", "EQUAL", [f"v{i}" for i in range(200)]).passed is True
    with pytest.raises(ValidationError):
        run("x", "EQUAL", [f"v{i}" for i in range(201)])


@pytest.mark.parametrize(
    ("operator", "values"),
    [("EQUAL", []), ("CONTAINS", [""]), ("GREATERTHAN", ["ten"]), ("LESSTHAN", ["1", "2,5"])],
)
def test_bad_configs_are_rejected(operator: str, values: list[str]) -> None:
    with pytest.raises(ValidationError):
        run("x", operator, values)


def test_exists_may_have_values_and_ignores_them() -> None:
    assert run("x", "EXISTS", ["anything"]).passed is True
