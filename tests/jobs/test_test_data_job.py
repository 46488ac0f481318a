"""test_data: whole test words, whole test values, unicode, config errors; against a reference."""

from __future__ import annotations

import unicodedata
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from leadgate.jobs.test_data import DEFAULT_WORDS, TestDataConfig, TestDataJob
from leadgate.processr.lead_values import as_text
from leadgate.processr.plugin import Flag, StaticContext

JOB = TestDataJob()


def judge(data: dict[str, Any], **config: Any) -> list[Flag]:
    result = JOB.run(data, TestDataConfig.model_validate(config), StaticContext())
    assert result.passed is (not result.flags)
    return result.flags


@pytest.mark.parametrize(
    "value",
    [
        "test",
        "Test User",
        "TEST",
        "test@acme.example",
        "kim@example.com",
        "asdf asdf",
        "Qwerty Ltd",
    ],
)
def test_default_words_catch_test_leads(value: str) -> None:
    (flag,) = judge({"name": value}, fields=["name"])
    assert flag.code == "test_data.found"
    assert flag.message.startswith("The field name contains the test word ")


@pytest.mark.parametrize(
    "value", ["Contest", "Testa", "Protestant", "latest news", "examples", "", None, 0, False]
)
def test_words_match_whole_words_only(value: Any) -> None:
    assert judge({"name": value}, fields=["name"]) == []


def test_the_flag_names_the_word_and_each_field() -> None:
    flags = judge(
        {"email": "test@acme.example", "company": "ASDF Inc", "city": "Leeds"},
        fields=["email", "company", "city", "missing"],
    )
    assert flags == [
        Flag(
            "test_data.found",
            'The field email contains the test word "test"; '
            'the field company contains the test word "asdf"',
        )
    ]


def test_values_match_the_whole_value_in_any_case_and_spacing() -> None:
    config = {"fields": ["postcode"], "values": ["AA1 1AA"], "words": []}
    assert judge({"postcode": "  aa1   1aa "}, **config) == [
        Flag("test_data.found", 'The field postcode holds the test value "AA1 1AA"')
    ]
    assert judge({"postcode": "AA1 1AB"}, **config) == []
    assert judge({"postcode": "AA1 1AAX"}, **config) == []


def test_numbers_are_matched_as_written() -> None:
    config = {"fields": ["phone"], "values": ["1234567890"], "words": ["555"]}
    assert judge({"phone": 1234567890}, **config)[0].message.endswith('value "1234567890"')
    assert judge({"phone": "+1 555 0100"}, **config)[0].message.endswith('word "555"')
    assert judge({"phone": 5550100}, **config) == []


def test_a_test_word_of_several_words_matches_them_in_a_row() -> None:
    config = {"fields": ["name"], "words": ["John Doe"]}
    assert judge({"name": "Mr. john   doe"}, **config)[0].message.endswith('word "John Doe"')
    assert judge({"name": "Doe, John"}, **config) == []
    assert judge({"name": "John Doerty"}, **config) == []


def test_unicode_words_compare_normalised() -> None:
    decomposed = unicodedata.normalize("NFD", "José")
    config = {"fields": ["name"], "words": ["josé"]}
    assert judge({"name": f"{decomposed} Pérez"}, **config) != []
    assert judge({"name": "\uff54\uff45\uff53\uff54"}, fields=["name"]) != []  # full-width
    assert judge({"name": "Straße"}, fields=["name"], words=["STRASSE"]) != []
    assert judge({"name": "Тест"}, fields=["name"], words=["тест"]) != []


def test_defaults() -> None:
    config = TestDataConfig(fields=["email"])
    assert config.words == list(DEFAULT_WORDS) == ["test", "asdf", "qwerty", "example"]
    assert config.values == []
    assert JOB.summary(config, {}) == "words test; asdf; qwerty; example"


@pytest.mark.parametrize(
    ("config", "where"),
    [
        ({"fields": []}, "fields"),
        ({"fields": ["  "]}, "fields"),
        ({"fields": ["email"], "words": [], "values": []}, "values"),
        ({"fields": ["email"], "words": ["--"]}, "words"),
        ({"fields": ["email"], "values": ["  "]}, "values"),
        ({"fields": ["email"], "colour": "red"}, "colour"),
    ],
)
def test_bad_configs_name_the_key(config: dict[str, Any], where: str) -> None:
    with pytest.raises(ValidationError) as caught:
        TestDataConfig.model_validate(config)
    assert [e["loc"][0] for e in caught.value.errors()] == [where]


def test_values_alone_are_enough() -> None:
    assert TestDataConfig(fields=["zip"], words=[], values=["00000"]).words == []


# A slow, plain reference: split into words by hand, look for the word's words in a row.
def reference_words(text: str) -> list[str]:
    text = unicodedata.normalize("NFKC", text).casefold()
    words, current = [], ""
    for char in text:
        if char.isalnum() or unicodedata.category(char)[0] == "M":
            current += char
        elif current:
            words.append(current)
            current = ""
    if current:
        words.append(current)
    return words


def reference_is_test_data(value: str, words: list[str], values: list[str]) -> bool:
    def squashed(text: str) -> str:
        return " ".join(unicodedata.normalize("NFKC", text).casefold().split())

    if any(squashed(value) == squashed(v) for v in values):
        return True
    have = " " + " ".join(reference_words(value)) + " "
    return any(" " + " ".join(reference_words(w)) + " " in have for w in words)


ALPHABET = st.sampled_from([*"teasdfqwrxy TEAS-.@1é", "\u0301", "ß", "\uff54", "\u00a0"])
texts = st.text(ALPHABET, max_size=16)
words = st.lists(texts.filter(lambda w: bool(reference_words(w))), max_size=4)
values = st.lists(texts.filter(lambda v: bool(v.strip())), max_size=3)


@given(texts, words, values)
def test_matches_the_reference(value: str, word_list: list[str], value_list: list[str]) -> None:
    if not word_list and not value_list:
        word_list = ["test"]
    flags = judge({"f": value}, fields=["f"], words=word_list, values=value_list)
    assert bool(flags) == reference_is_test_data(value, word_list, value_list)


@given(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False)))
def test_non_text_values_are_judged_by_their_text(value: Any) -> None:
    flags = judge({"f": value}, fields=["f"], words=["true", "1"])
    assert bool(flags) == reference_is_test_data(as_text(value), ["true", "1"], [])
