"""Multiple Empty Fields Check: at most N of the listed fields are empty.

`fields` must be listed: a job is judged with the lead's data and its own config only (the
`JobContext` offers lists and mirrors, not the campaign's form), so "every field of the campaign"
cannot be known at run time, and counting the lead's own keys would miss the fields it left out.
Empty means missing, null, or only spaces; `false` and `0` are filled in (as for Required Fields).
"""

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from leadgate.jobs.flag_text import listing
from leadgate.jobs.operators import FieldName
from leadgate.processr.lead_values import field_text, is_blank
from leadgate.processr.plugin import BaseJobType, JobContext, JobResult, Tab, failed, passed

TOO_MANY = "multiple_empty_fields.too_many"


class MultipleEmptyFieldsConfig(BaseModel):
    """The fields to count and how many of them may be left empty."""

    model_config = ConfigDict(extra="forbid", frozen=True, title="Multiple Empty Fields Check")

    fields: list[FieldName] = Field(
        min_length=1,
        max_length=200,
        title="Fields to count",
        description="The fields whose empty ones are counted (pick every field to count them all).",
        json_schema_extra={"x-options": "fields"},
    )
    max_empty: int = Field(
        default=2,
        ge=0,
        validate_default=True,
        title="Most empty fields allowed",
        description="Leads leaving more of these fields empty (missing or blank) fail.",
    )

    @field_validator("max_empty")
    @classmethod
    def _below_the_field_count(cls, value: int, info: ValidationInfo) -> int:
        fields = info.data.get("fields")
        if fields is not None and value >= len(set(fields)):
            raise ValueError(
                f"must be below the number of fields counted ({len(set(fields))}): "
                "otherwise every lead passes"
            )
        return value


class MultipleEmptyFieldsJob(BaseJobType[MultipleEmptyFieldsConfig]):
    """Fails leads that leave too many of the listed fields empty."""

    config_model = MultipleEmptyFieldsConfig
    type = "multiple_empty_fields"
    title = "Multiple Empty Fields Check"
    flag_texts = {
        TOO_MANY: "Too many fields are empty",
    }
    tab: Tab = "quality"

    def summary(self, config: MultipleEmptyFieldsConfig, list_names: Mapping[int, str]) -> str:
        """The limit."""
        return f"at most {config.max_empty} empty"

    def run(
        self, data: Mapping[str, Any], config: MultipleEmptyFieldsConfig, ctx: JobContext
    ) -> JobResult:
        """Pass when at most `max_empty` of the fields are empty; the flag names them."""
        empty = empty_fields(data, config.fields)
        if len(empty) <= config.max_empty:
            return passed()
        counted = len(dict.fromkeys(config.fields))
        verb = "is" if len(empty) == 1 else "are"
        return failed(
            TOO_MANY,
            f"{len(empty)} of {counted} fields {verb} empty: {listing(empty)} "
            f"(at most {config.max_empty} may be)",
        )


def empty_fields(data: Mapping[str, Any], fields: list[str]) -> list[str]:
    """The fields (each once, in order) that are missing or blank in the lead."""
    return [f for f in dict.fromkeys(fields) if is_blank(field_text(data, f))]
