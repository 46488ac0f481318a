"""Non Standard Character Check: at most N characters of a field fall outside the standard set.

Standard: letters of any script, decimal digits of any script, spaces (Unicode space separators,
so a no-break space too, but not tabs or line breaks), combining marks (so "José" written as "e"
plus an accent passes), and `. , ' - @ & ( ) / + #`. Each field is counted on its own.
"""

import unicodedata
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from leadgate.jobs.flag_text import char_name, listing, sentence
from leadgate.jobs.operators import FieldName
from leadgate.processr.lead_values import field_text
from leadgate.processr.plugin import BaseJobType, JobContext, JobResult, Tab, failed, passed

FOUND = "non_standard_characters.found"
STANDARD_PUNCTUATION = frozenset(".,'-@&()/+#")
_SHOWN = 5


class NonStandardCharactersConfig(BaseModel):
    """The fields to look at and how many non-standard characters each may hold."""

    model_config = ConfigDict(extra="forbid", frozen=True, title="Non Standard Character Check")

    fields: list[FieldName] = Field(
        min_length=1,
        max_length=200,
        title="Fields to check",
        description="Leads with too many unusual characters in any of these fields fail.",
        json_schema_extra={"x-options": "fields"},
    )
    max: int = Field(
        default=3,
        ge=0,
        le=10_000,
        title="Most non-standard characters",
        description=(
            "How many characters of one field may be other than letters (any alphabet), digits, "
            "spaces and . , ' - @ & ( ) / + #"
        ),
    )


class NonStandardCharactersJob(BaseJobType[NonStandardCharactersConfig]):
    """Fails leads where a field holds too many characters outside the standard set."""

    config_model = NonStandardCharactersConfig
    type = "non_standard_characters"
    title = "Non Standard Character Check"
    flag_texts = {
        FOUND: "A value has unusual characters",
    }
    tab: Tab = "quality"

    def summary(self, config: NonStandardCharactersConfig, list_names: Mapping[int, str]) -> str:
        """The limit."""
        return f"at most {config.max} non-standard characters"

    def run(
        self, data: Mapping[str, Any], config: NonStandardCharactersConfig, ctx: JobContext
    ) -> JobResult:
        """Pass when no field holds more than `max` non-standard characters."""
        found = []
        for name in dict.fromkeys(config.fields):
            odd = non_standard(field_text(data, name))
            if len(odd) > config.max:
                found.append(_reason(name, odd))
        if not found:
            return passed()
        return failed(FOUND, sentence(found) + f" (at most {config.max} allowed)")


def is_standard(char: str) -> bool:
    """Whether a character is standard: letter, digit, space, combining mark, `.,'-@&()/+#`."""
    if char.isalpha() or char.isdecimal() or char in STANDARD_PUNCTUATION:
        return True
    category = unicodedata.category(char)
    return category == "Zs" or category.startswith("M")


def non_standard(text: str) -> list[str]:
    """The non-standard characters of a text, in order, repeats included."""
    return [c for c in text if not is_standard(c)]


def _reason(name: str, odd: list[str]) -> str:
    distinct = [char_name(c) for c in dict.fromkeys(odd)]
    if len(distinct) > _SHOWN:
        shown = ", ".join(distinct[:_SHOWN]) + " and others"
    else:
        shown = listing(distinct)
    noun = "character" if len(odd) == 1 else "characters"
    return f"the field {name} has {len(odd)} non-standard {noun}: {shown}"
