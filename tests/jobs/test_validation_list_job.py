"""validation_list: rules, operators, case, trim, blanks, messages."""

from typing import Any

import pytest

from leadgate.jobs.validation_list import ValidationListConfig, ValidationListJob
from leadgate.processr.plugin import Flag, JobResult, StaticContext

JOB = ValidationListJob()


@pytest.fixture
def ctx() -> StaticContext:
    context = StaticContext()
    context.add_list(1, "Target Accounts", ["Acme", "Globex", "acme.com"])
    context.add_list(2, "Competitors", ["Acme", "Globex", "acme.com"])
    return context


def run(ctx: StaticContext, value: Any, **config: Any) -> JobResult:
    defaults: dict[str, Any] = {"list_id": 1, "field_name": "company", "rule": "pass"}
    model = ValidationListConfig.model_validate(defaults | config)
    return JOB.run({"company": value}, model, ctx)


@pytest.mark.parametrize(
    ("value", "operator", "passes"),
    [
        ("Acme", "equal", True),
        ("acme", "equal", True),
        ("Acme Inc", "equal", False),
        ("Acme Inc", "startswith", True),
        ("The Acme", "startswith", False),
        ("The Acme", "endswith", True),
        ("Acme Inc", "endswith", False),
        ("The Acme Inc", "contains", True),
        ("Initech", "contains", False),
    ],
)
def test_acceptance_passes_on_a_match_and_suppression_on_none(
    ctx: StaticContext, value: str, operator: str, passes: bool
) -> None:
    assert run(ctx, value, operator=operator).passed is passes
    assert run(ctx, value, operator=operator, rule="fail", list_id=2).passed is not passes


def test_case_sensitive_match(ctx: StaticContext) -> None:
    assert run(ctx, "ACME", case_sensitive=True).passed is False
    assert run(ctx, "Acme", case_sensitive=True).passed is True


def test_trim(ctx: StaticContext) -> None:
    assert run(ctx, "  Acme \t").passed is True
    assert run(ctx, "  Acme ", trim=False).passed is False
    assert run(ctx, "  Acme ", trim=False, operator="contains").passed is True


@pytest.mark.parametrize("value", [None, "", "   "])
def test_blank_fails_acceptance_and_passes_suppression(ctx: StaticContext, value: Any) -> None:
    result = run(ctx, value)
    assert result.flags == [
        Flag(
            "validation_list.no_match",
            "The field company is empty, so it does not equal any values on the validation list "
            "Target Accounts",
        )
    ]
    assert run(ctx, value, rule="fail", list_id=2).passed is True


def test_missing_field_is_blank(ctx: StaticContext) -> None:
    model = ValidationListConfig(list_id=1, field_name="company", operator="equal", rule="pass")
    assert JOB.run({}, model, ctx).passed is False


def test_non_text_values_are_normalised() -> None:
    context = StaticContext()
    context.add_list(1, "Flags", ["true", "42"])
    assert run(context, True).passed is True
    assert run(context, 42).passed is True
    assert run(context, 42.0).passed is True
    assert run(context, False).passed is False


@pytest.mark.parametrize(
    ("operator", "words"),
    [
        ("equal", "does not equal any values"),
        ("startswith", "does not start with any values"),
        ("endswith", "does not end with any values"),
        ("contains", "does not contain any values"),
    ],
)
def test_acceptance_message(ctx: StaticContext, operator: str, words: str) -> None:
    result = run(ctx, "Initech", operator=operator)
    assert result.flags == [
        Flag(
            "validation_list.no_match",
            f"The lead value {words} on the validation list Target Accounts on the field company",
        )
    ]


@pytest.mark.parametrize(
    ("value", "operator", "message"),
    [
        (
            "acme",
            "equal",
            "The lead value equals a value on the suppression list Competitors on the field "
            "company",
        ),
        (
            "Acme Inc",
            "startswith",
            "The lead value starts with a value on the suppression list Competitors on the field "
            "company (matched value: acme)",
        ),
        (
            "mail.acme.com",
            "endswith",
            "The lead value ends with a value on the suppression list Competitors on the field "
            "company (matched value: acme.com)",
        ),
        (
            "The Globex Group",
            "contains",
            "The lead value contains a value on the suppression list Competitors on the field "
            "company (matched value: globex)",
        ),
    ],
)
def test_suppression_message(ctx: StaticContext, value: str, operator: str, message: str) -> None:
    result = run(ctx, value, operator=operator, rule="fail", list_id=2)
    assert result.flags == [Flag("validation_list.match", message)]


def test_missing_list_fails_with_its_own_code(ctx: StaticContext) -> None:
    result = run(ctx, "Acme", list_id=99)
    assert result.passed is False
    assert result.flags == [
        Flag(
            "validation_list.list_missing",
            "The validation list #99 used on the field company does not exist any more",
        )
    ]
    assert run(ctx, None, list_id=99, rule="fail").flags[0].code == "validation_list.list_missing"


@pytest.mark.parametrize(
    "config",
    [
        {"field_name": "company", "rule": "pass"},
        {"list_id": 1, "field_name": " ", "rule": "pass"},
        {"list_id": 1, "field_name": "company", "rule": "maybe"},
        {"list_id": 1, "field_name": "company", "rule": "pass", "operator": "like"},
        {"list_id": 1, "field_name": "company", "rule": "pass", "surprise": 1},
    ],
)
def test_bad_configs_are_rejected(config: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        ValidationListConfig.model_validate(config)
