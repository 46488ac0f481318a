"""The shapes of campaigns and their form fields."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field, field_validator, model_validator

FIELD_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")

FieldType = Literal["text", "email", "phone", "number", "select", "checkbox", "date"]
CampaignStatus = Literal["active", "paused", "ended"]


class FormField(BaseModel):
    """One field of a campaign's form."""

    name: str = Field(description="Key in lead data, camelCase, e.g. `companyName`.")
    label: str | None = Field(default=None, max_length=200)
    type: FieldType = "text"
    required: bool = False
    options: list[str] | None = Field(default=None, description="Choices of a select field.")

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not FIELD_NAME_RE.fullmatch(value):
            raise ValueError("a field name is a letter or _ then letters, digits or _ (max 64)")
        return value

    @model_validator(mode="after")
    def _defaults(self) -> FormField:
        if self.label is None:
            self.label = self.name
        if self.type == "select" and not self.options:
            raise ValueError(f"the select field {self.name} needs options")
        return self


def _unique_names(fields: list[FormField]) -> list[FormField]:
    seen: set[str] = set()
    for f in fields:
        if f.name in seen:
            raise ValueError(f"the field name {f.name!r} is used twice")
        seen.add(f.name)
    return fields


Form = Annotated[list[FormField], Field(max_length=200), AfterValidator(_unique_names)]


class CampaignCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    fields: Form = Field(default_factory=list)


class FieldsReplace(BaseModel):
    fields: Form


class CampaignPatch(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    status: CampaignStatus | None = None


class CampaignOut(BaseModel):
    id: int
    name: str
    status: CampaignStatus
    fields: list[FormField]


class CampaignSummary(BaseModel):
    id: int
    name: str
    status: CampaignStatus
