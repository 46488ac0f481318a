"""Dropdown options of job config fields (`POST /job-types/{type}/options`).

Every job type gets the generic ones (our campaign's fields, our lists); a type whose options
come from elsewhere (Connect: the client's campaigns and jobs) registers a provider for them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, Field

from leadgate.campaigns import service as campaigns
from leadgate.errors import InvalidRequest
from leadgate.jobs.registry import REGISTRY, UnknownJobType
from leadgate.kit.repository import TenantScope
from leadgate.lists import service as lists

FIELD_KEYS = frozenset({"field_name", "Field_name", "fields", "field"})


class Option(BaseModel):
    value: Any
    label: str


class OptionsRequest(BaseModel):
    field: str = Field(description="The config key whose dropdown to fill, e.g. `Campaign`.")
    campaign_id: int | None = Field(default=None, description="Our campaign the job belongs to.")
    config: dict[str, Any] = Field(default_factory=dict, description="The config typed so far.")


class OptionsOut(BaseModel):
    options: list[Option]


Provider = Callable[[TenantScope, OptionsRequest], list[Option]]

# (job type, config key) -> provider; registered by the modules that own the remote side.
PROVIDERS: dict[tuple[str, str], Provider] = {}


def register(job_type: str, key: str, provider: Provider) -> None:
    """Let `provider` fill the dropdown of `key` for `job_type` (refuses duplicates)."""
    if (job_type, key) in PROVIDERS:
        raise ValueError(f"options for {job_type}.{key} are already provided")
    PROVIDERS[(job_type, key)] = provider


def options(scope: TenantScope, job_type: str, request: OptionsRequest) -> list[Option]:
    """The choices for one config field, given what is filled in so far."""
    try:
        properties = REGISTRY.get(job_type).config_model.model_json_schema().get("properties", {})
    except UnknownJobType:
        raise InvalidRequest(f"Unknown job type {job_type!r}.", code="unknown_job_type") from None
    if request.field not in properties:
        raise InvalidRequest(
            f"The {job_type} config has no field {request.field!r}.", code="unknown_config_field"
        )
    provider = PROVIDERS.get((job_type, request.field))
    if provider is not None:
        return provider(scope, request)
    if request.field in FIELD_KEYS:
        if request.campaign_id is None:
            raise InvalidRequest("campaign_id is needed to list the campaign's fields.")
        campaign = campaigns.get(scope, request.campaign_id)
        return [Option(value=f["name"], label=f.get("label") or f["name"]) for f in campaign.fields]
    if request.field == "list_id":
        return [
            Option(value=row.id, label=f"{row.name} ({row.value_count} values)")
            for row in lists.list_all(scope)
        ]
    enum = properties[request.field].get("enum")
    if enum:
        return [Option(value=v, label=str(v)) for v in enum]
    return []
