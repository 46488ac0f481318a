"""Connect (delivery): valid leads go into the client's campaign, fields mapped onto its form.

The delivery itself is background work (a row per lead, a task that posts it); as a Processr
job it only sits on the integration tab, which the engine runs for valid and test leads.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field

from leadgate.jobs.base import JobContext, JobResult, Tab, passed
from leadgate.jobs.connect_mirror import ClientConnection


class ConnectDeliveryConfig(ClientConnection):
    """Where valid leads go, and which of our fields fills each of the client's fields."""

    Field_mapping: dict[str, str] = Field(
        default_factory=dict,
        title="Field mapping",
        description="For each of the client's form fields, the field of ours that fills it. "
        "Every field the client requires must be mapped.",
        json_schema_extra={"x-mapping": True},
    )


class ConnectDeliveryJob:
    """Marks a campaign's valid leads for delivery to a client instance."""

    config_model = ConnectDeliveryConfig
    type = "connect_delivery"
    title = "Connect"
    tab: Tab = "integration"

    def run(
        self, data: Mapping[str, Any], config: ConnectDeliveryConfig, ctx: JobContext
    ) -> JobResult:
        """Delivery happens in the background; judging-wise this job always passes."""
        return passed()
