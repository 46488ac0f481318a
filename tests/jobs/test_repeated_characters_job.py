"""repeated_characters: runs, case, whitespace, unicode, numbers, config errors; a reference."""

from __future__ import annotations

import unicodedata
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from leadgate.jobs.repeated_characters import (
    RepeatedCharactersConfig,
    RepeatedCharactersJob,
    Run,
    longest_run,
)
from leadgate.processr.plugin import Flag, StaticContext

JOB = RepeatedCharactersJob()


def judge(data: dict[str, Any], fields: list[str], **config: Any) -> list[Flag]:
    parsed = RepeatedCharactersConfig.model_validate({"fields": fields, **config})
    result = JOB.run(data, parsed, StaticContext())
    assert result.passed is (not result.flags)
    return result.flags


def test_three_in_a_row_pass_four_fail_by_default() -> None:
    assert judge({"name": "Aaron Baaa"}, ["name"]) == []
    assert judge({"name": "Baaaa"}, ["name"]) == [
        Flag(
            "repeated_characters.found",
            'The field name repeats the character "a" 4 times in a row (at most 3 allowed)',
        )
    ]


def test_case_does_not_break_a_run() -> None:
    assert judge({"name": "AaAa"}, ["name"])[0].message.startswith(
        'The field name repeats the character "A" 4 times'
    )


def test_spaces_do_not_count_but_digits_and_punctuation_do() -> None:
    assert judge({"address": "1 High St          Leeds"}, ["address"]) == []
    assert judge({"address": "Flat\t\t\t\t2"}, ["address"]) == []
    assert judge({"phone": "07000 000000"}, ["phone"])[0].message.startswith(
        'The field phone repeats the character "0" 6 times'
    )
    assert judge({"note": "hi!!!!"}, ["note"]) != []


def test_every_field_over_the_limit_is_named_and_missing_ones_pass() -> None:
    flags = judge(
        {"first": "Jjjjohn", "last": "Smith", "phone": 5555555},
        ["first", "last", "phone", "absent", "first"],
        max_repeats=2,
    )
    assert flags == [
        Flag(
            "repeated_characters.found",
            'The field first repeats the character "J" 4 times in a row; '
            'the field phone repeats the character "5" 7 times in a row (at most 2 allowed)',
        )
    ]
    assert judge({"first": None}, ["first"]) == []


def test_unicode_characters_are_counted_once_each() -> None:
    decomposed = unicodedata.normalize("NFD", "éééé")
    assert len(decomposed) == 8
    assert judge({"name": decomposed}, ["name"])[0].message.startswith(
        'The field name repeats the character "é" 4 times'
    )
    assert judge({"name": "ßßß"}, ["name"]) == []
    assert longest_run("ßs") == Run("ß", 1)  # ß folds to "ss", still not an "s"
    assert judge({"name": "東東東東"}, ["name"]) != []


def test_longest_run() -> None:
    assert longest_run("") is None
    assert longest_run("    ") is None
    assert longest_run("abbbcc") == Run("b", 3)
    assert longest_run("aabb") == Run("a", 2)  # the first of equal runs


def test_summary() -> None:
    assert JOB.summary(RepeatedCharactersConfig(fields=["a"]), {}) == "at most 3 in a row"


@pytest.mark.parametrize(
    ("config", "where"),
    [
        ({"fields": []}, "fields"),
        ({"fields": ["a"], "max_repeats": 0}, "max_repeats"),
        ({"fields": ["a"], "max_repeats": -2}, "max_repeats"),
        ({"fields": ["a"], "max_repeats": "many"}, "max_repeats"),
        ({"fields": ["a"], "max": 3}, "max"),
    ],
)
def test_bad_configs_name_the_key(config: dict[str, Any], where: str) -> None:
    with pytest.raises(ValidationError) as caught:
        RepeatedCharactersConfig.model_validate(config)
    assert [e["loc"][0] for e in caught.value.errors()] == [where]


def reference_longest(text: str) -> int:
    """Try every start and extend while the characters are the same (in any case)."""
    chars = unicodedata.normalize("NFC", text)
    best = 0
    for start in range(len(chars)):
        if chars[start].isspace():
            continue
        end = start
        while end < len(chars) and chars[end].casefold() == chars[start].casefold():
            end += 1
        best = max(best, end - start)
    return best


ALPHABET = st.sampled_from([*"aAbB  \t0ßsS", "\u0301", "é", "İ", "i"])


@given(st.text(ALPHABET, max_size=24), st.integers(1, 6))
def test_matches_the_reference(value: str, limit: int) -> None:
    passed = judge({"f": value}, ["f"], max_repeats=limit) == []
    assert passed == (reference_longest(value) <= limit)


@given(st.text(max_size=40), st.integers(1, 6))
def test_matches_the_reference_on_any_text(value: str, limit: int) -> None:
    passed = judge({"f": value}, ["f"], max_repeats=limit) == []
    assert passed == (reference_longest(value) <= limit)
