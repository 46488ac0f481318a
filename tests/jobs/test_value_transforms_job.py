"""value_transforms: each transform, idempotence (hypothesis), references, configs, and the
engine applying transforms before every other job whatever their position."""

from __future__ import annotations

import string
from typing import Any

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from leadgate.jobs.registry import builtin_registry
from leadgate.jobs.value_transforms import (
    TransformRule,
    ValueTransformsConfig,
    ValueTransformsJob,
    apply,
)
from leadgate.processr.engine import GroupCondition, JobSpec, judge, transform
from leadgate.processr.plugin import StaticContext

JOB = ValueTransformsJob()
REGISTRY = builtin_registry()
SIMPLE = ["trim", "lower", "upper", "title", "collapse_spaces", "email_lower"]


def rule(transform_: str, field_name: str = "f", region: str | None = None) -> TransformRule:
    return TransformRule.model_validate(
        {"field_name": field_name, "transform": transform_, "region": region}
    )


def rewrite(data: dict[str, Any], *rules: dict[str, Any]) -> dict[str, Any]:
    return JOB.transform(data, ValueTransformsConfig.model_validate({"rules": list(rules)}))


@pytest.mark.parametrize(
    ("transform_", "sent", "stored"),
    [
        ("trim", "  Kim Lee \t", "Kim Lee"),
        ("lower", "Kim LEE", "kim lee"),
        ("upper", "gb", "GB"),
        ("upper", "straße", "STRASSE"),
        ("title", "kim o'brien-SMITH", "Kim O'brien-Smith"),
        ("title", "3RD floor", "3rd Floor"),
        ("title", "élodie  DUPONT", "Élodie  Dupont"),
        ("collapse_spaces", "  Kim \t\n Lee  ", "Kim Lee"),
        ("email_lower", " Kim.Lee@ACME.example ", "kim.lee@acme.example"),
        ("email_lower", " Not An Address ", " Not An Address "),
    ],
)
def test_each_transform(transform_: str, sent: str, stored: str) -> None:
    assert apply(rule(transform_), sent) == stored


@pytest.mark.parametrize(
    ("sent", "region", "stored"),
    [
        ("07911 123456", "GB", "+447911123456"),
        ("+44 (0)20 7946 0958", "GB", "+442079460958"),
        ("(650) 253-0000", "US", "+16502530000"),
        ("+49 30 901820", "GB", "+4930901820"),
        ("12", "GB", "12"),
        ("call me", "GB", "call me"),
        ("", "GB", ""),
    ],
)
def test_phone_e164(sent: str, region: str, stored: str) -> None:
    assert apply(rule("phone_e164", region=region), sent) == stored


def test_rules_apply_in_order_to_text_values_only() -> None:
    data = {"name": "  kim   LEE ", "count": 3, "flag": True, "none": None}
    out = rewrite(
        data,
        {"field_name": "name", "transform": "collapse_spaces"},
        {"field_name": "name", "transform": "title"},
        {"field_name": "count", "transform": "upper"},
        {"field_name": "flag", "transform": "lower"},
        {"field_name": "none", "transform": "trim"},
        {"field_name": "missing", "transform": "trim"},
    )
    assert out == {"name": "Kim Lee", "count": 3, "flag": True, "none": None}
    assert data["name"] == "  kim   LEE "  # the lead's own values are not touched
    assert JOB.run(out, ValueTransformsConfig(rules=[rule("trim")]), StaticContext()).passed


@pytest.mark.parametrize(
    ("rules", "loc", "says"),
    [
        ([], ("rules",), "at least 1"),
        (
            [{"field_name": "f", "transform": "reverse"}],
            ("rules", 0, "transform"),
            "Input should be",
        ),
        (
            [{"field_name": "f", "transform": "phone_e164", "region": "XX"}],
            ("rules", 0, "region"),
            "'XX' is not a known region",
        ),
        (
            [{"field_name": "f", "transform": "phone_e164"}],
            ("rules", 0, "region"),
            "phone_e164 needs a region",
        ),
        (
            [{"field_name": "f", "transform": "trim", "region": "GB"}],
            ("rules", 0, "region"),
            "a region is only for phone_e164",
        ),
        ([{"field_name": "", "transform": "trim"}], ("rules", 0, "field_name"), "at least 1"),
    ],
)
def test_bad_configs_name_the_rule(rules: list[Any], loc: tuple[Any, ...], says: str) -> None:
    with pytest.raises(ValidationError) as caught:
        ValueTransformsConfig.model_validate({"rules": rules})
    (error,) = caught.value.errors()
    assert error["loc"] == loc and says in error["msg"], error


def test_regions_are_read_in_any_case_and_blank_is_none() -> None:
    assert rule("phone_e164", region="gb").region == "GB"
    assert rule("phone_e164", region="uk").region == "GB"
    assert rule("trim", region=" ").region is None


@pytest.mark.parametrize("transform_", SIMPLE)
@given(text=st.text(max_size=30))
def test_transforms_are_idempotent(transform_: str, text: str) -> None:
    once = apply(rule(transform_), text)
    assert apply(rule(transform_), once) == once


@given(
    st.from_regex(r"\+?[0-9 ()-]{0,16}", fullmatch=True),
    st.sampled_from(["GB", "US", "DE", "FR"]),
)
def test_phone_e164_is_idempotent_and_agrees_with_the_library(text: str, region: str) -> None:
    once = apply(rule("phone_e164", region=region), text)
    assert apply(rule("phone_e164", region=region), once) == once
    if once != text:
        number = phonenumbers.parse(text, region)
        assert phonenumbers.is_valid_number(number)
        assert phonenumbers.parse(once, None) == number


def _title_reference(text: str) -> str:
    """A slow reference for ASCII: word = letters, digits and apostrophes."""
    out, previous = [], ""
    for char in text.lower():
        word = char.isalnum() or char == "'"
        start = not (previous.isalnum() or previous == "'")
        out.append(char.upper() if word and start else char)
        previous = char
    return "".join(out)


ASCII = st.text(alphabet=string.ascii_letters + string.digits + " '-.\t\n", max_size=30)


@given(ASCII)
def test_title_and_spaces_match_references_on_ascii(text: str) -> None:
    assert apply(rule("title"), text) == _title_reference(text)
    assert apply(rule("collapse_spaces"), text) == " ".join(text.split())


# --- in the engine: before every other job, whatever the position -----------------------------


def specs(*jobs: tuple[str, dict[str, Any]], **extra: Any) -> list[JobSpec]:
    return [
        JobSpec(id=i, type=t, config=c, position=i, **extra) for i, (t, c) in enumerate(jobs, 1)
    ]


def test_transforms_run_before_the_other_jobs_whatever_their_position() -> None:
    jobs = specs(
        (
            "simple_conditional_validation",
            {"field_name": "country", "operator": "EQUAL", "values": ["GB"]},
        ),
        ("email_format", {"field_name": "email"}),
        (
            "value_transforms",
            {
                "rules": [
                    {"field_name": "country", "transform": "upper"},
                    {"field_name": "country", "transform": "trim"},
                    {"field_name": "email", "transform": "email_lower"},
                ]
            },
        ),
    )
    sent = {"country": " gb ", "email": " KIM@Acme.example", "name": "kim"}
    done = transform(sent, jobs, REGISTRY)
    assert done.data == {"country": "GB", "email": "kim@acme.example", "name": "kim"}
    assert done.changes == {
        "country": {"from": " gb ", "to": "GB"},
        "email": {"from": " KIM@Acme.example", "to": "kim@acme.example"},
    }
    verdict = judge(done.data, jobs, StaticContext(), REGISTRY)
    assert (verdict.status, verdict.score, verdict.max_score) == ("valid", 30, 30)
    assert judge(sent, jobs, StaticContext(), REGISTRY).status == "invalid"
    assert transform(done.data, jobs, REGISTRY).changes == {}  # again: nothing to change


def test_transforms_follow_groups_and_skip_broken_configs() -> None:
    gb = GroupCondition("country", ["GB"])
    us = GroupCondition("country", ["US"])
    phone = {"field_name": "phone", "transform": "phone_e164"}
    jobs = [
        JobSpec(
            1, "value_transforms", {"rules": [phone | {"region": "GB"}]}, group="p", condition=gb
        ),
        JobSpec(
            2, "value_transforms", {"rules": [phone | {"region": "US"}]}, group="p", condition=us
        ),
        JobSpec(3, "value_transforms", {"rules": [{"field_name": "x", "transform": "nope"}]}),
        JobSpec(4, "value_transforms", {"rules": [phone]}, tab="integration"),
    ]
    assert transform({"country": "GB", "phone": "07911 123456"}, jobs, REGISTRY).data == {
        "country": "GB",
        "phone": "+447911123456",
    }
    assert transform({"country": "US", "phone": "650 253 0000"}, jobs, REGISTRY).data == {
        "country": "US",
        "phone": "+16502530000",
    }
    verdict = judge({"country": "US"}, jobs, StaticContext(), REGISTRY)
    assert [f.code for f in verdict.flags] == ["job.misconfigured"]
