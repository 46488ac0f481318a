"""Connect (delivery): valid leads go into the client's campaign, fields mapped onto its form.

The delivery itself is background work (`leadgate.delivery`: a row per lead, a task that posts
it); as a Processr job it sits on the integration tab, which the engine runs for valid and test
leads, and its `after_judged` hook gives each such lead its delivery row in the transaction that
stores the lead (a statement, so both of the intake's drivers run it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from leadgate.config import Settings
from leadgate.delivery import service as deliveries
from leadgate.delivery.config import ConnectDeliveryConfig
from leadgate.kit.repository import TenantScope
from leadgate.peer import options as client_options
from leadgate.processr.plugin import (
    BaseJobType,
    JobContext,
    JobResult,
    Judged,
    Option,
    Statement,
    Tab,
    passed,
)


class ConnectDeliveryJob(BaseJobType[ConnectDeliveryConfig]):
    """Marks a campaign's valid leads for delivery to a client instance."""

    config_model = ConnectDeliveryConfig
    type = "connect_delivery"
    title = "Connect"
    tab: Tab = "integration"
    secret_bound_keys = frozenset({"Subdomain"})  # the key goes to that instance only

    def run(
        self, data: Mapping[str, Any], config: ConnectDeliveryConfig, ctx: JobContext
    ) -> JobResult:
        """Delivery happens in the background; judging-wise this job always passes."""
        return passed()

    def check(self, scope: TenantScope, config: ConnectDeliveryConfig) -> None:
        """Never into this very instance: its leads would come back round."""
        deliveries.check_target(scope, config)

    def on_saved(self, scope: TenantScope, job: Any, settings: Settings) -> None:
        """Set up the job's connection and check its mapping against the client's form."""
        deliveries.on_saved(scope.session, job, settings)

    def after_judged(self, judged: Sequence[Judged]) -> Sequence[Statement]:
        """A delivery row per lead and job, and a drain per connection."""
        return deliveries.queue_for(judged)

    def options(
        self, scope: TenantScope, key: str, config: Mapping[str, Any], settings: Settings
    ) -> list[Option] | None:
        """The client's campaigns."""
        if key == "Campaign":
            return [Option(value=v, label=t) for v, t in client_options.campaigns(config, settings)]
        return None

    def summary(self, config: ConnectDeliveryConfig, list_names: Mapping[int, str]) -> str:
        """Where valid leads go and how many fields are mapped."""
        mapped = len(config.Field_mapping)
        return (
            f"valid leads to {config.Subdomain}, their campaign {config.Campaign}; "
            f"{mapped} field{'s' if mapped != 1 else ''} mapped"
        )
