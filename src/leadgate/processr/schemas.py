"""The shapes of Processr jobs."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

Tab = Literal["quality", "enrichment", "integration"]


class GroupCondition(BaseModel):
    """Run this job (of its group) when the lead's `field` has one of `values`."""

    field: str = Field(min_length=1, max_length=64)
    values: list[str] = Field(min_length=1, max_length=500)

    @field_validator("values", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        # The UI writes values `;`-separated, as the market leader does.
        if isinstance(value, str):
            return [v.strip() for v in value.split(";") if v.strip()]
        return value


class JobCreate(BaseModel):
    type: str = Field(description="A type from GET /job-types.")
    label: str | None = Field(default=None, max_length=200)
    config: dict[str, Any] = Field(default_factory=dict)
    score: int = Field(default=10, ge=0, le=1000)
    hardfail: bool = False
    visible_to_publishers: bool = False
    position: int | None = Field(default=None, ge=1)
    tab: Tab | None = None
    group: str | None = Field(default=None, max_length=100)
    condition: GroupCondition | None = None
    catch_all: bool = False


class JobPatch(BaseModel):
    label: str | None = Field(default=None, max_length=200)
    config: dict[str, Any] | None = Field(
        default=None,
        description="A JSON Merge Patch (RFC 7396) of the stored config: keys present replace, "
        "`null` removes, absent keys stay; a masked secret sent back stays unchanged.",
    )
    score: int | None = Field(default=None, ge=0, le=1000)
    hardfail: bool | None = None
    visible_to_publishers: bool | None = None
    position: int | None = Field(default=None, ge=1)
    tab: Tab | None = None
    group: str | None = Field(default=None, max_length=100)
    condition: GroupCondition | None = None
    catch_all: bool | None = None


class JobOut(BaseModel):
    id: int
    campaign_id: int
    type: str
    label: str
    config: dict[str, Any]
    score: int
    hardfail: bool
    visible_to_publishers: bool
    position: int
    tab: Tab
    group: str | None
    condition: GroupCondition | None
    catch_all: bool
    version: int
    warnings: list[str] = Field(
        default_factory=list,
        description="What may be wrong though it is allowed, e.g. a second mirror of one client "
        "job in the campaign (a lead would be judged by that rule twice).",
    )


class Reorder(BaseModel):
    job_ids: list[int] = Field(description="Every job id of the campaign, in the new order.")


class JobTypeOut(BaseModel):
    type: str
    title: str
    tab: Tab
    config_schema: dict[str, Any]
