"""Value Transforms: rewrite lead values before any job judges them; always passes.

The type declares `transforms`, so the Processr applies its rules to a lead before every other
job, whatever its position (`processr.engine.transform`): the other jobs, the duplicate check
included, judge the rewritten values, the lead stores them, and a `transformed` history entry
keeps what was sent (field -> {from, to}).

Semantics (ours where the issue is silent):

- Rules apply in order, each to the value the previous rules left; a field the lead does not
  have stays absent. Only text values are transformed: numbers, booleans and nulls stay.
- `trim` strips surrounding whitespace; `lower` / `upper` change case; `title` capitalises the
  first letter of each word (letters, marks, digits and apostrophes: `o'brien-smith` is
  `O'brien-Smith`) and lowers the rest; `collapse_spaces` trims and turns each run of
  whitespace into one space; `email_lower` trims and lowers a value with an `@`; `phone_e164`
  writes a valid number of `region` (or with its own country code) as E.164 (`+447911123456`).
- A value a transform cannot handle (not a valid number, no `@`) stays as it was.
- Every transform is idempotent, so a lead judged again is transformed again safely.
- `region` is needed by `phone_e164` and refused on the others.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping
from typing import Any, Literal

import phonenumbers
from phonenumbers import NumberParseException
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from leadgate.jobs.flag_text import listing
from leadgate.jobs.operators import FieldName
from leadgate.jobs.telephone_format import region_of
from leadgate.processr.plugin import BaseJobType, JobContext, JobResult, Tab, passed

MAX_RULES = 50

TransformName = Literal[
    "trim", "lower", "upper", "title", "collapse_spaces", "phone_e164", "email_lower"
]


class TransformRule(BaseModel):
    """One rewrite of one field."""

    model_config = ConfigDict(extra="forbid", frozen=True, title="Rule")

    field_name: FieldName = Field(
        title="Field",
        description="The lead field to rewrite.",
        json_schema_extra={"x-options": "fields"},
    )
    transform: TransformName = Field(
        title="Transform",
        description=(
            "trim, lower, upper, title (Each Word Capitalised), collapse_spaces (one space "
            "between words), email_lower, phone_e164 (+447911123456; needs a region)."
        ),
    )
    region: str | None = Field(
        default=None,
        validate_default=True,
        title="Region",
        description=(
            "For phone_e164: the country of numbers written without a country code, as an "
            "ISO 3166 code such as GB."
        ),
    )

    @field_validator("region")
    @classmethod
    def _known_region(cls, value: str | None, info: ValidationInfo) -> str | None:
        transform = info.data.get("transform")
        if value is None or not value.strip():
            if transform == "phone_e164":
                raise ValueError("phone_e164 needs a region, such as GB")
            return None
        if transform is not None and transform != "phone_e164":
            raise ValueError(f"a region is only for phone_e164, not {transform}")
        region = region_of(value)
        if region is None:
            raise ValueError(f"{value!r} is not a known region; use an ISO 3166 code such as GB")
        return region


class ValueTransformsConfig(BaseModel):
    """The rewrites to make, in order."""

    model_config = ConfigDict(extra="forbid", frozen=True, title="Value Transforms")

    rules: list[TransformRule] = Field(
        min_length=1,
        max_length=MAX_RULES,
        title="Rules",
        description="Applied in order, before every other job.",
    )


class ValueTransformsJob(BaseJobType[ValueTransformsConfig]):
    """Rewrites lead values (trim, case, spaces, E.164 numbers) before the other jobs run."""

    config_model = ValueTransformsConfig
    type = "value_transforms"
    title = "Value Transforms"
    tab: Tab = "quality"
    transforms = True

    def summary(self, config: ValueTransformsConfig, list_names: Mapping[int, str]) -> str:
        """The transforms, by field."""
        return "(" + listing(f"{r.transform} {r.field_name}" for r in config.rules) + ")"

    def transform(self, data: Mapping[str, Any], config: ValueTransformsConfig) -> dict[str, Any]:
        """The values with every rule applied, in order."""
        out = dict(data)
        for rule in config.rules:
            value = out.get(rule.field_name)
            if isinstance(value, str):
                out[rule.field_name] = apply(rule, value)
        return out

    def run(
        self, data: Mapping[str, Any], config: ValueTransformsConfig, ctx: JobContext
    ) -> JobResult:
        """Always passes: the values were rewritten before the jobs ran."""
        return passed()


def title_case(text: str) -> str:
    """Lower case, then each word's first character in title case (words: letters, marks,
    digits and apostrophes). A character whose title case is longer than itself (ŉ) stays
    lower case, which keeps the transform idempotent."""
    out: list[str] = []
    in_word = False
    for char in text.lower():
        wordish = char == "'" or unicodedata.category(char)[0] in "LMN"
        if wordish and not in_word:
            titled = char.title()
            char = titled if len(titled) == 1 else char
        out.append(char)
        in_word = wordish
    return "".join(out)


def collapse_spaces(text: str) -> str:
    """Trimmed, every run of whitespace one space."""
    return " ".join(text.split())


def email_lower(text: str) -> str:
    """An address trimmed and lower case; anything without an @ as it was."""
    return text.strip().lower() if "@" in text else text


def phone_e164(text: str, region: str) -> str:
    """A valid number as E.164; anything else as it was."""
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException:
        return text
    if not phonenumbers.is_valid_number(number):
        return text
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


_SIMPLE: dict[str, Callable[[str], str]] = {
    "trim": str.strip,
    "lower": str.lower,
    "upper": str.upper,
    "title": title_case,
    "collapse_spaces": collapse_spaces,
    "email_lower": email_lower,
}


def apply(rule: TransformRule, text: str) -> str:
    """One rule on one value."""
    if rule.transform == "phone_e164":
        assert rule.region is not None
        return phone_e164(text, rule.region)
    return _SIMPLE[rule.transform](text)
