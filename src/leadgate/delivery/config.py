"""The config of a Connect delivery job: where valid leads go and how fields map."""

from __future__ import annotations

from pydantic import Field

from leadgate.peer.config import ClientConnection


class ConnectDeliveryConfig(ClientConnection):
    """Where valid leads go, and which of our fields fills each of the client's fields."""

    Field_mapping: dict[str, str] = Field(
        default_factory=dict,
        title="Field mapping",
        description="For each of the client's form fields, the field of ours that fills it. "
        "Every field the client requires must be mapped.",
        json_schema_extra={"x-mapping": True},
    )
