"""Required Fields: every listed field is present and not blank."""

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from leadgate.jobs.operators import FieldName
from leadgate.processr.lead_values import field_text, is_blank
from leadgate.processr.plugin import BaseJobType, JobContext, JobResult, Tab, failed, passed

MISSING = "required_fields.missing"


class RequiredFieldsConfig(BaseModel):
    """The fields a lead must fill in."""

    model_config = ConfigDict(extra="forbid", frozen=True, title="Required Fields")

    fields: list[FieldName] = Field(
        min_length=1,
        max_length=200,
        title="Required fields",
        description="Leads missing any of these fields, or leaving them blank, fail.",
        json_schema_extra={"x-options": "fields"},
    )


class RequiredFieldsJob(BaseJobType[RequiredFieldsConfig]):
    """Fails leads that leave a required field missing or blank."""

    config_model = RequiredFieldsConfig
    type = "required_fields"
    title = "Required Fields"
    flag_texts = {
        MISSING: "A required field is missing or empty",
    }
    tab: Tab = "quality"

    def run(
        self, data: Mapping[str, Any], config: RequiredFieldsConfig, ctx: JobContext
    ) -> JobResult:
        """Pass when every field is present and not blank (False and 0 count as filled in)."""
        missing = [f for f in dict.fromkeys(config.fields) if is_blank(field_text(data, f))]
        if not missing:
            return passed()
        if len(missing) == 1:
            return failed(MISSING, f"The required field {missing[0]} is missing or empty")
        return failed(MISSING, f"The required fields {', '.join(missing)} are missing or empty")
