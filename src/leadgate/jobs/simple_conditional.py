"""Simple Conditional Validation: one field, one operator, a list of values."""

from collections.abc import Mapping
from typing import Any

from pydantic import ConfigDict

from leadgate.jobs.operators import OperatorRule, Outcome, check, first_non_number
from leadgate.kit.repository import TenantScope
from leadgate.processr.lead_values import as_number, field_text
from leadgate.processr.plugin import BaseJobType, JobContext, JobResult, Tab, failed, passed

FAILED = "simple_conditional.failed"
NOT_A_NUMBER = "simple_conditional.not_a_number"


class SimpleConditionalConfig(OperatorRule):
    """Pass a lead when its field satisfies the operator for any of the values."""

    model_config = ConfigDict(title="Simple Conditional Validation")


class SimpleConditionalJob(BaseJobType[SimpleConditionalConfig]):
    """Checks one field against a list of values with one operator."""

    config_model = SimpleConditionalConfig
    type = "simple_conditional_validation"
    title = "Simple Conditional Validation"
    flag_texts = {
        FAILED: "A value does not meet the campaign's condition",
        NOT_A_NUMBER: "A value that must be a number is not one",
    }
    tab: Tab = "quality"
    publishable = True

    def shared_definition(
        self, scope: TenantScope, config: SimpleConditionalConfig
    ) -> dict[str, Any]:
        """The whole rule: field, operator, values, case."""
        return {
            "field_name": config.field_name,
            "operator": config.operator,
            "case_sensitive": config.case_sensitive,
            "values": list(config.values),
        }

    def run(
        self, data: Mapping[str, Any], config: SimpleConditionalConfig, ctx: JobContext
    ) -> JobResult:
        """Pass when the field satisfies the operator (NOTEQUAL: for all values)."""
        text = field_text(data, config.field_name).strip()
        outcome = check(config, text)
        if outcome == "pass":
            return passed()
        return failed(*flag_for(config, text, outcome))


def flag_for(rule: OperatorRule, text: str, outcome: Outcome) -> tuple[str, str]:
    """The flag code and message for a failed rule."""
    head = f"The field {rule.field_name} with the operator {rule.operator}"
    supplied = f"The value supplied was {text}" if text else "No value was supplied"
    if outcome == "not_a_number":
        bad_value = first_non_number(rule.values)
        if as_number(text) is not None and bad_value is not None:
            return NOT_A_NUMBER, f"{head} compares with a value that is not a number: {bad_value}"
        return NOT_A_NUMBER, f"{head} needs a number. {supplied}"
    if rule.operator == "EXISTS":
        return FAILED, f"{head} has no value"
    if rule.operator == "NOTEQUAL":
        return FAILED, f"{head} matched a value in the list of values. {supplied}"
    return FAILED, f"{head} was not found in the list of values. {supplied}"
