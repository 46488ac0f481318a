"""Dropdown options of job config fields (`POST /job-types/{type}/options`).

A job type fills its own dropdowns (`JobType.options`: our lists, the client's campaigns and
jobs); the generic ones are our campaign's fields and enums.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from leadgate.campaigns import service as campaigns
from leadgate.config import Settings
from leadgate.errors import InvalidRequest
from leadgate.kit.repository import TenantScope
from leadgate.processr.plugin import Option
from leadgate.processr.registry import REGISTRY, UnknownJobType

__all__ = ["Option", "OptionsOut", "OptionsRequest", "options"]


class OptionsRequest(BaseModel):
    field: str = Field(description="The config key whose dropdown to fill, e.g. `Campaign`.")
    campaign_id: int | None = Field(default=None, description="Our campaign the job belongs to.")
    config: dict[str, Any] = Field(default_factory=dict, description="The config typed so far.")


class OptionsOut(BaseModel):
    options: list[Option]


def options(
    scope: TenantScope, job_type: str, request: OptionsRequest, settings: Settings
) -> list[Option]:
    """The choices for one config field, given what is filled in so far.

    The job type answers first (its lists, the client's campaigns); otherwise a key naming our
    campaign's fields gets them, and an enum its values.
    """
    try:
        type_ = REGISTRY.get(job_type)
    except UnknownJobType:
        raise InvalidRequest(f"Unknown job type {job_type!r}.", code="unknown_job_type") from None
    properties = type_.config_model.model_json_schema().get("properties", {})
    if request.field not in properties:
        raise InvalidRequest(
            f"The {job_type} config has no field {request.field!r}.", code="unknown_config_field"
        )
    own = type_.options(scope, request.field, request.config, settings)
    if own is not None:
        return own
    if request.field in type_.field_keys:
        if request.campaign_id is None:
            raise InvalidRequest("campaign_id is needed to list the campaign's fields.")
        campaign = campaigns.get(scope, request.campaign_id)
        return [Option(value=f["name"], label=f.get("label") or f["name"]) for f in campaign.fields]
    enum = properties[request.field].get("enum")
    if enum:
        return [Option(value=v, label=str(v)) for v in enum]
    return []
