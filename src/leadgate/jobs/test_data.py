"""Test Data Check: fields must not hold test words ("test", "asdf") or test values ("AA1 1AA").

Semantics (ours where the issue is silent):

- A test word matches whole words only, in any case: "test" catches "Test User" and
  "test@acme.example", never "contest" or "Testa". Words are runs of letters, digits and
  combining marks; a test word of several words ("john doe") matches them in a row.
- A test value matches the whole field, ignoring case and spaces around and between its words.
- Both compare after Unicode NFKC normalisation, so full-width letters count as the
  letters they stand for.
"""

import functools
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import groupby
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from leadgate.jobs.flag_text import sentence, shown
from leadgate.jobs.operators import FieldName
from leadgate.processr.lead_values import field_text, is_blank
from leadgate.processr.plugin import BaseJobType, JobContext, JobResult, Tab, failed, passed

FOUND = "test_data.found"
DEFAULT_WORDS = ("test", "asdf", "qwerty", "example")
MAX_ENTRIES = 500
_ASCII_WORD = re.compile(r"[a-z0-9]+")


class TestDataConfig(BaseModel):
    """Fail leads whose fields hold test words or test values."""

    __test__ = False  # not a pytest test class, whatever its name

    model_config = ConfigDict(extra="forbid", frozen=True, title="Test Data Check")

    fields: list[FieldName] = Field(
        min_length=1,
        max_length=200,
        title="Fields to check",
        description="Leads holding a test word or test value in any of these fields fail.",
        json_schema_extra={"x-options": "fields"},
    )
    words: list[str] = Field(
        default=list(DEFAULT_WORDS),
        max_length=MAX_ENTRIES,
        title="Test words",
        description=(
            "Whole words that mark a test lead, in any case: 'test' catches 'Test User' and "
            "'test@acme.com', not 'contest'. A test word of several words matches them in a row."
        ),
    )
    values: list[str] = Field(
        default_factory=list,
        max_length=MAX_ENTRIES,
        validate_default=True,
        title="Test values",
        description=(
            "Whole field values that mark a test lead, for example the postcode AA1 1AA; "
            "compared ignoring case and spaces."
        ),
    )

    @field_validator("words")
    @classmethod
    def _words_have_letters(cls, words: list[str]) -> list[str]:
        for word in words:
            if not words_of(word):
                raise ValueError(f"the test word {word!r} has no letters or digits")
        return words

    @field_validator("values")
    @classmethod
    def _values_not_blank(cls, values: list[str], info: ValidationInfo) -> list[str]:
        if any(is_blank(v) for v in values):
            raise ValueError("test values must not be empty")
        if not values and info.data.get("words") == []:
            raise ValueError("give at least one test word or test value")
        return values


class TestDataJob(BaseJobType[TestDataConfig]):
    """Fails leads holding test words or test values."""

    __test__ = False

    config_model = TestDataConfig
    type = "test_data"
    title = "Test Data Check"
    flag_texts = {
        FOUND: "The lead looks like test data",
    }
    tab: Tab = "quality"

    def summary(self, config: TestDataConfig, list_names: Mapping[int, str]) -> str:
        """The test words looked for (the generic summary shows the values)."""
        if not config.words:
            return ""
        more = "; …" if len(config.words) > 5 else ""
        return "words " + "; ".join(config.words[:5]) + more

    def run(self, data: Mapping[str, Any], config: TestDataConfig, ctx: JobContext) -> JobResult:
        """Pass when no field holds a test word or value; the flag names each field that does."""
        rules = _rules(tuple(config.words), tuple(config.values))
        found = [
            reason
            for name in dict.fromkeys(config.fields)
            if (reason := rules.reason(name, field_text(data, name))) is not None
        ]
        if not found:
            return passed()
        return failed(FOUND, sentence(found))


def words_of(text: str) -> tuple[str, ...]:
    """The words of a text, normalised and casefolded, in order."""
    if text.isascii():  # the same words, without normalising: most lead values are ASCII
        return tuple(_ASCII_WORD.findall(text.lower()))
    folded = unicodedata.normalize("NFKC", text).casefold()
    return tuple("".join(run) for is_word, run in groupby(folded, key=_in_word) if is_word)


def _in_word(char: str) -> bool:
    return char.isalnum() or unicodedata.category(char).startswith("M")


def value_key(text: str) -> str:
    """A whole value as test values compare: normalised, casefolded, spaces collapsed."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def contains_run(words: Sequence[str], run: Sequence[str]) -> bool:
    """Whether `run` occurs in `words` as consecutive items."""
    size = len(run)
    return any(tuple(words[i : i + size]) == tuple(run) for i in range(len(words) - size + 1))


@dataclass(frozen=True, slots=True)
class _Rules:
    """A config's words and values, prepared for matching."""

    single: Mapping[str, str]  # one-word test words by normalised form -> as configured
    several: tuple[tuple[tuple[str, ...], str], ...]  # longer ones: (normalised words, configured)
    values: Mapping[str, str]  # normalised value -> as configured

    def reason(self, name: str, text: str) -> str | None:
        """Why this field's text is test data, or None."""
        if is_blank(text):
            return None
        value = self.values.get(value_key(text)) if self.values else None
        if value is not None:
            return f'the field {name} holds the test value "{shown(value)}"'
        words = words_of(text)
        word = next((self.single[w] for w in words if w in self.single), None)
        if word is None:
            word = next((word for run, word in self.several if contains_run(words, run)), None)
        if word is None:
            return None
        return f'the field {name} contains the test word "{shown(word)}"'


@functools.lru_cache(maxsize=256)
def _rules(words: tuple[str, ...], values: tuple[str, ...]) -> _Rules:
    single: dict[str, str] = {}
    several: list[tuple[tuple[str, ...], str]] = []
    for word in words:
        parts = words_of(word)
        if len(parts) == 1:
            single.setdefault(parts[0], word)
        elif parts:
            several.append((parts, word))
    return _Rules(
        single=single,
        several=tuple(several),
        values={value_key(v): v for v in reversed(values)},
    )
