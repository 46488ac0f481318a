"""Conditional Validation: several field conditions combined with ANY or ALL.

`sections` is a flat list of conditions, as DESIGN.md and the contract describe it; nesting (a
section holding several conditions) was left out so configs stay one form deep. A GREATERTHAN or
LESSTHAN condition on a value that is not a number never holds, negated or not: the lead cannot be
judged on it.
"""

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from leadgate.jobs.operators import OperatorRule, check
from leadgate.processr.lead_values import field_text
from leadgate.processr.plugin import BaseJobType, JobContext, JobResult, Tab, failed, passed

FAILED = "conditional.failed"
MAX_CONDITIONS = 50
_SHOWN_VALUES = 5


class Condition(OperatorRule):
    """One field condition, optionally negated."""

    model_config = ConfigDict(title="Condition")

    negate: bool = Field(
        default=False,
        title="Negate",
        description="Turn the condition around: it holds when not met.",
    )


class ConditionalConfig(BaseModel):
    """Conditions and how many of them must hold."""

    model_config = ConfigDict(extra="forbid", frozen=True, title="Conditional Validation")

    overall: Literal["ANY", "ALL"] = Field(
        default="ALL",
        title="Pass when",
        description="ALL: every condition must hold. ANY: at least one condition must hold.",
    )
    sections: list[Condition] = Field(
        min_length=1,
        max_length=MAX_CONDITIONS,
        title="Conditions",
        description="The conditions to check on the lead.",
    )


class ConditionalJob(BaseJobType[ConditionalConfig]):
    """Checks several conditions and combines them with ANY or ALL."""

    config_model = ConditionalConfig
    type = "conditional_validation"
    title = "Conditional Validation"
    flag_texts = {
        FAILED: "The lead does not meet the campaign's conditions",
    }
    tab: Tab = "quality"

    def run(self, data: Mapping[str, Any], config: ConditionalConfig, ctx: JobContext) -> JobResult:
        """Pass when ANY / ALL conditions hold; the flag names the conditions that did not."""
        failures: list[str] = []
        for condition in config.sections:
            text = field_text(data, condition.field_name).strip()
            if not holds(condition, text):
                failures.append(describe(condition, text))
        if not failures or (config.overall == "ANY" and len(failures) < len(config.sections)):
            return passed()
        total = len(config.sections)
        if config.overall == "ANY":
            head = "The lead meets none of the conditions"
        else:
            head = f"The lead does not meet {len(failures)} of {total} required conditions"
        return failed(FAILED, f"{head}: " + "; ".join(failures))


def holds(condition: Condition, text: str) -> bool:
    """Whether a condition holds for the text of its field."""
    outcome = check(condition, text)
    if outcome == "not_a_number":
        return False
    return (outcome == "pass") != condition.negate


def describe(condition: Condition, text: str) -> str:
    """A short human description of a condition that did not hold."""
    operator = f"NOT {condition.operator}" if condition.negate else condition.operator
    part = f"{condition.field_name} {operator}"
    if condition.operator != "EXISTS":
        shown = ", ".join(condition.values[:_SHOWN_VALUES])
        extra = len(condition.values) - _SHOWN_VALUES
        part += f" {shown}" + (f" (and {extra} more)" if extra > 0 else "")
    if check(condition, text) == "not_a_number":
        return f"{part} (needs a number, value supplied: {text})"
    return f"{part} (value supplied: {text})" if text else f"{part} (no value supplied)"
