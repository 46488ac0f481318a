"""The composition root's wiring, in one place: job types, hooks between domains, task modules.

Lower packages never import higher ones (see the import contracts in pyproject.toml); where one
must hear about another's changes, it offers a hook (`lists.hooks`, `campaigns.hooks`) and this
module connects the listener. `load()` runs once per process, from every entry point: the app
(`create_app`), the CLI and the worker (procrastinate imports this module by name).
"""

from __future__ import annotations

from leadgate.campaigns import hooks as campaign_hooks
from leadgate.delivery import pages as delivery_pages
from leadgate.delivery import service as delivery
from leadgate.delivery import tasks as delivery_tasks
from leadgate.jobs import registry as job_types
from leadgate.jobs import validation_list
from leadgate.leads import hooks as lead_hooks
from leadgate.leads import tasks as lead_tasks
from leadgate.lists import hooks as list_hooks
from leadgate.mirror import pages as mirror_pages
from leadgate.mirror import tasks as mirror_tasks
from leadgate.processr import events as job_events
from leadgate.processr import pages as processr_pages
from leadgate.processr import service as processr
from leadgate.stats import tasks as stats_tasks
from leadgate.webhooks import tasks as webhook_tasks
from leadgate.worker import tasks as housekeeping

# Every module that defines tasks: imported here, so the worker and the scheduler know them all.
TASK_MODULES = (
    delivery_tasks,
    housekeeping,
    lead_tasks,
    mirror_tasks,
    stats_tasks,
    webhook_tasks,
)


def load() -> None:
    """Install the job types and connect the hooks (idempotent)."""
    job_types.install()
    list_hooks.values_changed.connect(job_events.list_changed)
    list_hooks.used_by.connect(processr.jobs_using_list)
    list_hooks.needs_raw_values.connect(validation_list.contains_jobs)
    campaign_hooks.grant_changed.connect(job_events.grant_changed)
    lead_hooks.deliveries.connect(delivery.lead_deliveries)
    lead_hooks.delivery_rows.connect(delivery_pages.lead_deliveries)
    processr_pages.job_panels.connect(mirror_pages.panels_for)
    processr_pages.job_panels.connect(delivery_pages.panels_for)
    processr_pages.mapping_loaders.connect(delivery_pages.mapping_loader)


load()  # the worker imports this module by name (procrastinate's import_paths) and needs it loaded
