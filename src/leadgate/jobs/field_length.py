"""Length check of given field: the number of characters lies between a minimum and a maximum.

Semantics (ours where the issue is silent): spaces around the value do not count; the length is
counted in characters of the NFC-normalised text, so "José" is 4 whether its "é" arrived as one
character or as "e" and an accent; a missing or empty field is 0 characters long (so it fails any
minimum above 0); numbers are measured as written ("12345" is 5).
"""

import unicodedata
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from leadgate.jobs.operators import FieldName
from leadgate.processr.lead_values import field_text
from leadgate.processr.plugin import BaseJobType, JobContext, JobResult, Tab, failed, passed

OUT_OF_RANGE = "field_length.out_of_range"
MAX_LENGTH = 100_000


class FieldLengthConfig(BaseModel):
    """The field and the lengths it may have."""

    model_config = ConfigDict(extra="forbid", frozen=True, title="Length check of given field")

    field_name: FieldName = Field(
        title="Field",
        description="The lead field to measure, for example postcode or phone.",
        json_schema_extra={"x-options": "fields"},
    )
    min: int = Field(
        default=0,
        ge=0,
        le=MAX_LENGTH,
        title="Minimum length",
        description="The fewest characters the value may have (0: no minimum).",
    )
    max: int | None = Field(
        default=None,
        ge=1,
        le=MAX_LENGTH,
        validate_default=True,
        title="Maximum length",
        description="The most characters the value may have (leave empty: no maximum).",
    )

    @field_validator("max")
    @classmethod
    def _max_fits_min(cls, value: int | None, info: ValidationInfo) -> int | None:
        low = info.data.get("min")
        if low is None:  # min itself is invalid and reported
            return value
        if value is None and low == 0:
            raise ValueError("set a maximum, or a minimum above 0: otherwise every lead passes")
        if value is not None and value < low:
            raise ValueError(f"the maximum ({value}) is below the minimum ({low})")
        return value


class FieldLengthJob(BaseJobType[FieldLengthConfig]):
    """Fails leads whose field is shorter or longer than allowed."""

    config_model = FieldLengthConfig
    type = "field_length"
    title = "Length check of given field"
    flag_texts = {
        OUT_OF_RANGE: "A value is too short or too long",
    }
    tab: Tab = "quality"

    def summary(self, config: FieldLengthConfig, list_names: Mapping[int, str]) -> str:
        """The allowed lengths."""
        return bounds(config)

    def run(self, data: Mapping[str, Any], config: FieldLengthConfig, ctx: JobContext) -> JobResult:
        """Pass when the value's length is within the bounds."""
        size = length(field_text(data, config.field_name))
        if within(size, config.min, config.max):
            return passed()
        name = config.field_name
        if size == 0:
            head = f"The field {name} is empty"
        else:
            head = f"The field {name} is {characters(size)} long"
        return failed(OUT_OF_RANGE, f"{head}; it must be {bounds(config)}")


def length(text: str) -> int:
    """A value's length in characters: trimmed, NFC-normalised."""
    return len(unicodedata.normalize("NFC", text.strip()))


def within(size: int, low: int, high: int | None) -> bool:
    """Whether a length lies in [low, high] (no high: no upper bound)."""
    return size >= low and (high is None or size <= high)


def bounds(config: FieldLengthConfig) -> str:
    """The allowed lengths in words: "5 to 8 characters", "at least 5 characters", ..."""
    if config.max is None:
        return f"at least {characters(config.min)}"
    if config.min == 0:
        return f"at most {characters(config.max)}"
    if config.min == config.max:
        return f"exactly {characters(config.min)}"
    return f"{config.min} to {characters(config.max)}"


def characters(count: int) -> str:
    """The count and its noun: 1 character, 2 characters."""
    return f"{count} character{'' if count == 1 else 's'}"
