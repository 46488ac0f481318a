"""Repeated Character Check: no field holds a run of more than N identical characters.

Semantics (ours where the issue is silent): characters compare in any case ("AaAa" is a run of
4) after NFC normalisation (an accented letter is one character however it arrived); runs of
spaces (any whitespace) do not count, they are layout rather than typing.
"""

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import groupby
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from leadgate.jobs.flag_text import char_name, sentence
from leadgate.jobs.operators import FieldName
from leadgate.processr.lead_values import field_text
from leadgate.processr.plugin import BaseJobType, JobContext, JobResult, Tab, failed, passed

FOUND = "repeated_characters.found"


class RepeatedCharactersConfig(BaseModel):
    """The fields to look at and the longest run of one character they may hold."""

    model_config = ConfigDict(extra="forbid", frozen=True, title="Repeated Character Check")

    fields: list[FieldName] = Field(
        min_length=1,
        max_length=200,
        title="Fields to check",
        description="Leads with a long run of one character in any of these fields fail.",
        json_schema_extra={"x-options": "fields"},
    )
    max_repeats: int = Field(
        default=3,
        ge=1,
        le=1000,
        title="Most repeats allowed",
        description=(
            "The most times one character may appear in a row, in any case: with 3, 'aaa' passes "
            "and 'aaaa' fails. Runs of spaces are not counted."
        ),
    )


@dataclass(frozen=True, slots=True)
class Run:
    """The longest run of one character in a text."""

    char: str
    count: int


class RepeatedCharactersJob(BaseJobType[RepeatedCharactersConfig]):
    """Fails leads where a field repeats one character too many times in a row."""

    config_model = RepeatedCharactersConfig
    type = "repeated_characters"
    title = "Repeated Character Check"
    flag_texts = {
        FOUND: "A value repeats one character too often",
    }
    tab: Tab = "quality"

    def summary(self, config: RepeatedCharactersConfig, list_names: Mapping[int, str]) -> str:
        """The limit."""
        return f"at most {config.max_repeats} in a row"

    def run(
        self, data: Mapping[str, Any], config: RepeatedCharactersConfig, ctx: JobContext
    ) -> JobResult:
        """Pass when no field's longest run exceeds `max_repeats`; the flag names each field."""
        found = []
        for name in dict.fromkeys(config.fields):
            run = longest_run(field_text(data, name))
            if run is not None and run.count > config.max_repeats:
                found.append(
                    f"the field {name} repeats the character {char_name(run.char)} "
                    f"{run.count} times in a row"
                )
        if not found:
            return passed()
        return failed(FOUND, sentence(found) + f" (at most {config.max_repeats} allowed)")


def longest_run(text: str) -> Run | None:
    """The first longest run of one character (any case, whitespace ignored), or None."""
    best: Run | None = None
    normalised = unicodedata.normalize("NFC", text)
    for _, group in groupby(normalised, key=str.casefold):
        chars = list(group)
        if chars[0].isspace():
            continue
        if best is None or len(chars) > best.count:
            best = Run(chars[0], len(chars))
    return best
