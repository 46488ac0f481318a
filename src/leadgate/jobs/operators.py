"""The operator rule shared by simple conditional and conditional validation.

Semantics (ours where the market leader's documentation is silent):

- The lead value is compared after stripping surrounding whitespace; a missing field is "".
- A rule passes when the operator holds for ANY value; NOTEQUAL must hold for ALL values.
- EXISTS passes when the field is present and not blank; it ignores `values` (may be empty).
- GREATERTHAN is strictly greater; LESSTHAN is less than OR EQUAL (as the market leader documents).
  Numbers are plain decimals ("12", "-3.5", "1e3"); "1,000" or "12 kg" are not numbers.
- A blank value fails every operator but NOTEQUAL, which it passes (it equals none of the values).
- Text operators compare casefolded text when `case_sensitive` is false.
"""

from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from leadgate.processr.lead_values import as_number
from leadgate.processr.plugin import FieldName as FieldName

Operator = Literal[
    "STARTSWITH", "ENDSWITH", "CONTAINS", "EXISTS", "GREATERTHAN", "LESSTHAN", "EQUAL", "NOTEQUAL"
]
Outcome = Literal["pass", "fail", "not_a_number"]

NUMERIC_OPERATORS: frozenset[str] = frozenset({"GREATERTHAN", "LESSTHAN"})
MAX_VALUES = 200


class OperatorRule(BaseModel):
    """A field, an operator and the values it is compared with."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    field_name: FieldName = Field(
        title="Field",
        description="The lead field to check, for example company or email.",
        json_schema_extra={"x-options": "fields"},
    )
    operator: Operator = Field(
        title="Operator",
        description=(
            "How the lead value is compared with the values. EXISTS: the field is filled in. "
            "GREATERTHAN: the number is above a value. LESSTHAN: the number is at most a value. "
            "NOTEQUAL: the value equals none of the values."
        ),
    )
    values: list[str] = Field(
        default_factory=list,
        max_length=MAX_VALUES,
        title="Values",
        description="The values to compare with (up to 200). Not needed for EXISTS.",
    )
    case_sensitive: bool = Field(
        default=True,
        title="Case sensitive",
        description="When off, 'ACME' and 'acme' count as the same.",
    )

    @field_validator("values")
    @classmethod
    def _no_empty_values(cls, values: list[str]) -> list[str]:
        if any(v == "" for v in values):
            raise ValueError("values must not be empty strings")
        return values

    @model_validator(mode="after")
    def _values_fit_operator(self) -> "OperatorRule":
        if self.operator != "EXISTS" and not self.values:
            raise ValueError(f"the operator {self.operator} needs at least one value")
        if self.operator in NUMERIC_OPERATORS:
            bad = [v for v in self.values if as_number(v) is None]
            if bad:
                raise ValueError(f"the operator {self.operator} needs numbers, got {bad[0]!r}")
        return self


def check(rule: OperatorRule, text: str) -> Outcome:
    """Judge the text of a lead value against a rule."""
    text = text.strip()
    op = rule.operator
    if op == "EXISTS":
        return "pass" if text else "fail"
    if op in NUMERIC_OPERATORS:
        return _check_number(op, text, rule.values)
    values = rule.values
    if not rule.case_sensitive:
        text = text.casefold()
        values = [v.casefold() for v in values]
    if op == "NOTEQUAL":
        return "pass" if text not in values else "fail"
    if not text:
        return "fail"
    if op == "EQUAL":
        ok = text in values
    elif op == "STARTSWITH":
        ok = text.startswith(tuple(values))
    elif op == "ENDSWITH":
        ok = text.endswith(tuple(values))
    else:
        ok = any(v in text for v in values)
    return "pass" if ok else "fail"


def _check_number(op: str, text: str, values: list[str]) -> Outcome:
    if not text:
        return "fail"
    number = as_number(text)
    limits = [as_number(v) for v in values]
    if number is None:
        return "not_a_number"
    # Saved configs are validated, but a rule built with model_construct (a Connect mirror) is not.
    if any(limit is None for limit in limits):
        return "not_a_number"
    if op == "GREATERTHAN":
        return "pass" if any(number > limit for limit in limits if limit is not None) else "fail"
    return "pass" if any(number <= limit for limit in limits if limit is not None) else "fail"


def first_non_number(values: list[str]) -> str | None:
    """The first value that is not a number, for messages."""
    return next((v for v in values if as_number(v) is None), None)
