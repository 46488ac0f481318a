"""Which client instance a Connect job talks to, and the key it uses there."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ClientConnection(BaseModel):
    """The client instance and campaign a Connect job talks to, and the key it uses."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    API_Key: str = Field(
        min_length=8,
        max_length=200,
        title="API Key",
        description="Your publisher API key on the client's leadgate instance.",
        json_schema_extra={"x-secret": True},
    )
    Subdomain: str = Field(
        min_length=1,
        max_length=63,
        pattern=r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$",
        title="Subdomain",
        description="The client's leadgate subdomain, e.g. acme.",
    )
    Campaign: int = Field(
        ge=1,
        title="Campaign",
        description="The client's campaign your leads go into.",
        json_schema_extra={"x-options": "remote", "x-depends-on": ["API_Key", "Subdomain"]},
    )
