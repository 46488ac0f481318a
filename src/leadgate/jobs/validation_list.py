"""Validation List: accept leads whose value is on a list, or suppress leads whose value is."""

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from leadgate.config import Settings
from leadgate.errors import InvalidRequest
from leadgate.jobs.operators import FieldName
from leadgate.kit.repository import TenantScope
from leadgate.lists import repository as list_repository
from leadgate.lists import service as lists
from leadgate.lists.matcher import MatchOperator
from leadgate.processr import repository as processr_repository
from leadgate.processr.lead_values import field_text, is_blank
from leadgate.processr.plugin import (
    BaseJobType,
    JobContext,
    JobResult,
    Option,
    Tab,
    failed,
    passed,
)

CONTAINS_ON_PRIVATE = "contains_on_private_list"

NO_MATCH = "validation_list.no_match"
MATCH = "validation_list.match"
LIST_MISSING = "validation_list.list_missing"

_NOT_MATCHED = {
    "equal": "does not equal any values",
    "startswith": "does not start with any values",
    "endswith": "does not end with any values",
    "contains": "does not contain any values",
}
_MATCHED = {
    "equal": "equals a value",
    "startswith": "starts with a value",
    "endswith": "ends with a value",
    "contains": "contains a value",
}


class ValidationListConfig(BaseModel):
    """Which list, which field, how to compare, and whether a match passes or fails the lead."""

    model_config = ConfigDict(extra="forbid", frozen=True, title="Validation List")

    list_id: int = Field(
        ge=1,
        title="List",
        description="The validation list the lead value is looked up in.",
        json_schema_extra={"x-options": "lists"},
    )
    field_name: FieldName = Field(
        title="Field",
        description="The lead field to look up, for example company or email.",
        json_schema_extra={"x-options": "fields"},
    )
    operator: MatchOperator = Field(
        default="equal",
        title="Match type",
        description=(
            "equal: the lead value is a list value. startswith / endswith: the lead value begins / "
            "ends with a list value. contains: a list value appears anywhere in the lead value."
        ),
    )
    rule: Literal["pass", "fail"] = Field(
        title="Rule",
        description=(
            "pass: only leads that match the list pass (a target account list). "
            "fail: leads that match the list fail (a suppression list)."
        ),
    )
    case_sensitive: bool = Field(
        default=False,
        title="Case sensitive",
        description="When off, 'ACME' and 'acme' count as the same.",
    )
    trim: bool = Field(
        default=True,
        title="Ignore surrounding spaces",
        description="Remove spaces at the start and end of the lead value before comparing.",
    )


class ValidationListJob(BaseJobType[ValidationListConfig]):
    """Looks a lead field up in a compiled validation list."""

    config_model = ValidationListConfig
    type = "validation_list"
    title = "Validation List"
    flag_texts = {
        NO_MATCH: "A value is not on the acceptance list",
        MATCH: "A value is on the suppression list",
        LIST_MISSING: "The validation list the check reads is gone",
    }
    tab: Tab = "quality"
    publishable = True

    def list_ids(self, config: ValidationListConfig) -> frozenset[int]:
        """The one list it looks values up in."""
        return frozenset({config.list_id})

    def warm(self, config: ValidationListConfig, ctx: JobContext) -> None:
        """Compile the list with the lookup its operator needs."""
        compiled = ctx.compiled_list(config.list_id)
        if compiled is not None:
            compiled.warm(config.operator, config.case_sensitive)

    def check(self, scope: TenantScope, config: ValidationListConfig) -> None:
        """The list must exist in this instance; `contains` cannot be over a private list."""
        # Locked FOR SHARE: the list cannot turn private before this job is saved.
        row = list_repository.shared_lock(scope, config.list_id)
        if row is None:
            raise InvalidRequest(
                f"There is no validation list {config.list_id} in this instance.",
                code="list_not_found",
            )
        if row.private and config.operator == "contains":
            raise InvalidRequest(
                f"The list {row.name!r} ({row.id}) is private: its values never leave this "
                "instance, and `contains` cannot be checked without them. Use equal, "
                "startswith or endswith, or make the list public.",
                code=CONTAINS_ON_PRIVATE,
                list_id=row.id,
                errors=[
                    {
                        "loc": ["config", "operator"],
                        "msg": f"contains cannot be used over the private list {row.name!r}",
                        "type": CONTAINS_ON_PRIVATE,
                    }
                ],
            )

    def shared_definition(self, scope: TenantScope, config: ValidationListConfig) -> dict[str, Any]:
        """The rule and the list's name, version and size (never its values); for a private
        list, the lengths of its shortest and longest value as this job normalises them."""
        row = list_repository.find(scope, config.list_id)
        listing: dict[str, Any] | None = None
        if row is not None:
            listing = {"name": row.name, "version": row.version, "value_count": row.value_count}
            if row.private:
                shortest, longest = lists.lengths_of(scope.session, row).span(
                    not config.case_sensitive
                )
                listing |= {"private": True, "min_length": shortest, "max_length": longest}
        return {
            "field_name": config.field_name,
            "operator": config.operator,
            "rule": config.rule,
            "case_sensitive": config.case_sensitive,
            "trim": config.trim,
            "list": listing,
        }

    def options(
        self, scope: TenantScope, key: str, config: Mapping[str, Any], settings: Settings
    ) -> list[Option] | None:
        """Our lists, with their sizes."""
        if key != "list_id":
            return None
        return [
            Option(value=row.id, label=f"{row.name} ({row.value_count} values)")
            for row in list_repository.list_all(scope)
        ]

    def run(
        self, data: Mapping[str, Any], config: ValidationListConfig, ctx: JobContext
    ) -> JobResult:
        """Acceptance passes on a match; suppression passes on no match. Blank fails acceptance."""
        acceptance = config.rule == "pass"
        kind = "validation list" if acceptance else "suppression list"
        name = ctx.list_name(config.list_id)
        field = config.field_name
        compiled = ctx.compiled_list(config.list_id)
        if compiled is None:
            return failed(
                LIST_MISSING,
                f"The {kind} {name} used on the field {field} does not exist any more",
            )
        raw = field_text(data, field)
        if is_blank(raw):
            if not acceptance:
                return passed()
            not_matched = _NOT_MATCHED[config.operator]
            return failed(
                NO_MATCH, f"The field {field} is empty, so it {not_matched} on the {kind} {name}"
            )
        text = raw.strip() if config.trim else raw
        matched = compiled.matches(text, config.operator, config.case_sensitive)
        if acceptance:
            if matched is not None:
                return passed()
            not_matched = _NOT_MATCHED[config.operator]
            return failed(
                NO_MATCH, f"The lead value {not_matched} on the {kind} {name} on the field {field}"
            )
        if matched is None:
            return passed()
        message = (
            f"The lead value {_MATCHED[config.operator]} on the {kind} {name} on the field {field}"
        )
        if config.operator != "equal" and compiled.reveals_values:
            message += f" (matched value: {matched})"
        return failed(MATCH, message)


def contains_jobs(scope: TenantScope, list_id: int) -> list[tuple[int, str]]:
    """(job id, why) of the `contains` checks over this list: they need its raw values."""
    jobs = processr_repository.jobs_of_type_using_list(scope, ValidationListJob.type, list_id)
    return [
        (job.id, f"Processr job {job.id} “{job.label}” of campaign {job.campaign_id} uses contains")
        for job in jobs
        if job.config.get("operator") == "contains"
    ]
