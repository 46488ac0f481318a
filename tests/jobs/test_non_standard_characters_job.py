"""non_standard_characters: scripts, marks, spaces, the allowed punctuation; against a reference."""

from __future__ import annotations

import unicodedata
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from leadgate.jobs.non_standard_characters import (
    NonStandardCharactersConfig,
    NonStandardCharactersJob,
    non_standard,
)
from leadgate.processr.plugin import Flag, StaticContext

JOB = NonStandardCharactersJob()


def judge(data: dict[str, Any], fields: list[str], **config: Any) -> list[Flag]:
    parsed = NonStandardCharactersConfig.model_validate({"fields": fields, **config})
    result = JOB.run(data, parsed, StaticContext())
    assert result.passed is (not result.flags)
    return result.flags


@pytest.mark.parametrize(
    "value",
    [
        "O'Brien-Smith & Sons (UK) Ltd.",
        "kim.lee+leads@acme.example",
        "Flat 3/2, #12 High St",
        "Zoë Łukasiewicz",
        "Иван Петров",
        "محمد",
        "東京都千代田区",
        "١٢٣ ٤٥٦",  # Arabic-Indic digits
        "José\u00a0García",  # a no-break space
        unicodedata.normalize("NFD", "José Müller"),  # letters and combining marks
        "",
        None,
        12345,
        -3.5,
        True,
    ],
)
def test_standard_text_passes_even_with_max_0(value: Any) -> None:
    assert judge({"name": value}, ["name"], max=0) == []


def test_up_to_max_pass_one_more_fails_and_the_flag_lists_them() -> None:
    assert judge({"name": "Hi! :)"}, ["name"]) == []  # "!" and ":" (")" is standard)
    assert judge({"name": "Hi!! :)"}, ["name"]) == []
    assert judge({"name": "Hi!!! :)"}, ["name"]) == [
        Flag(
            "non_standard_characters.found",
            'The field name has 4 non-standard characters: "!" and ":" (at most 3 allowed)',
        )
    ]


def test_invisible_characters_are_named_by_code_point() -> None:
    flags = judge({"name": "Ann\u200bLee\tX\n"}, ["name"], max=2)
    assert flags[0].message == (
        "The field name has 3 non-standard characters: U+200B, U+0009 and U+000A "
        "(at most 2 allowed)"
    )


def test_long_lists_are_cut_and_each_field_counts_alone() -> None:
    flags = judge(
        {"a": "!$%^*=~", "b": "!!", "c": "<>"},
        ["a", "b", "c", "missing"],
        max=1,
    )
    assert flags == [
        Flag(
            "non_standard_characters.found",
            'The field a has 7 non-standard characters: "!", "$", "%", "^", "*" and others; '
            'the field b has 2 non-standard characters: "!"; '
            'the field c has 2 non-standard characters: "<" and ">" (at most 1 allowed)',
        )
    ]


def test_one_is_one_character() -> None:
    assert judge({"name": "Ann!"}, ["name"], max=0)[0].message == (
        'The field name has 1 non-standard character: "!" (at most 0 allowed)'
    )


def test_emoji_and_symbols_are_not_standard() -> None:
    assert non_standard("ok 👍 £5 €") == ["👍", "£", "€"]
    assert non_standard("x²") == ["²"]  # a superscript is no decimal digit


def test_summary() -> None:
    config = NonStandardCharactersConfig(fields=["a"])
    assert JOB.summary(config, {}) == "at most 3 non-standard characters"


@pytest.mark.parametrize(
    ("config", "where"),
    [
        ({"fields": []}, "fields"),
        ({"fields": ["a"], "max": -1}, "max"),
        ({"fields": ["a"], "max": 1.5}, "max"),
        ({"fields": ["a"], "allowed": "!"}, "allowed"),
    ],
)
def test_bad_configs_name_the_key(config: dict[str, Any], where: str) -> None:
    with pytest.raises(ValidationError) as caught:
        NonStandardCharactersConfig.model_validate(config)
    assert [e["loc"][0] for e in caught.value.errors()] == [where]


def reference_count(text: str) -> int:
    """Count by Unicode category, one character at a time."""
    count = 0
    for char in text:
        category = unicodedata.category(char)
        standard = (
            category in ("Lu", "Ll", "Lt", "Lm", "Lo", "Nd", "Zs", "Mn", "Mc", "Me")
            or char in ".,'-@&()/+#"
        )
        if not standard:
            count += 1
    return count


@given(st.text(max_size=40), st.integers(0, 5))
def test_matches_the_reference(value: str, limit: int) -> None:
    passed = judge({"f": value}, ["f"], max=limit) == []
    assert passed == (reference_count(value) <= limit)


@given(st.lists(st.text(max_size=10), min_size=1, max_size=4), st.integers(0, 3))
def test_each_field_is_judged_alone(values: list[str], limit: int) -> None:
    data = {f"f{i}": v for i, v in enumerate(values)}
    passed = judge(data, list(data), max=limit) == []
    assert passed == all(reference_count(v) <= limit for v in values)
