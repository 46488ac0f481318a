"""`/metrics`: the counters of every process of this machine (`leadgate.kit.metrics`) and what
the database knows at scrape time: deliveries by state, mirrors by state and age, the queue."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

from prometheus_client import REGISTRY as PROCESS_REGISTRY
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy.orm import Session

from leadgate.delivery import repository as deliveries
from leadgate.kit.metrics_folder import ENV
from leadgate.mirror import repository as mirrors
from leadgate.worker.queue_depth import depth


class DatabaseCollector(Collector):
    """Gauges read from the database when scraped (a few grouped counts)."""

    def __init__(self, sessions: Callable[[], Session]) -> None:
        self.sessions = sessions

    def collect(self) -> Iterator[Metric]:
        with self.sessions() as session:
            by_state = deliveries.counts_by_state_any_instance(session)
            ages = mirrors.ages_by_state_any_instance(session)
            queue = depth(session)
        backlog = GaugeMetricFamily("leadgate_deliveries", "Deliveries by state", labels=["state"])
        for state in ("queued", "held", "delivered", "dead"):
            backlog.add_metric([state], by_state.get(state, 0))
        yield backlog
        count = GaugeMetricFamily("leadgate_mirrors", "Connect mirrors by state", labels=["state"])
        age = GaugeMetricFamily(
            "leadgate_mirror_oldest_sync_age_seconds",
            "Age of the oldest good sync among the mirrors in each state",
            labels=["state"],
        )
        for state, (n, oldest) in sorted(ages.items()):
            count.add_metric([state], n)
            if oldest is not None:
                age.add_metric([state], oldest)
        yield count
        yield age
        jobs = GaugeMetricFamily(
            "leadgate_task_queue_jobs", "Tasks waiting or running", labels=["queue", "status"]
        )
        for (queue_name, status), n in sorted(queue.items()):
            jobs.add_metric([queue_name, status], n)
        yield jobs


def exposition(sessions: Callable[[], Session]) -> bytes:
    """The Prometheus text format of this machine's processes and the database."""
    registry = CollectorRegistry()
    if os.environ.get(ENV):
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:  # one process (tests, an embedded app): its own counters
        registry.register(_Process())
    registry.register(DatabaseCollector(sessions))
    return generate_latest(registry)


class _Process(Collector):
    def collect(self) -> Iterator[Metric]:
        for metric in PROCESS_REGISTRY.collect():
            if metric.name.startswith("leadgate_"):
                yield metric
