"""Prometheus metrics (`prometheus-client`), counted where things happen, read at `/metrics`.

Every API process and task worker of a machine counts into one folder (the library's
multi-process mode: `PROMETHEUS_MULTIPROC_DIR`, which `leadgate` sets to
`$LEADGATE_DATA_DIR/metrics` unless it is set), so a scrape of any one process sees them all.
What the database knows better than a counter (deliveries by state, mirrors' age, the task
queue) is read from it at scrape time (`leadgate.metrics_collector`).

A counter moves when the work is done in memory, before its transaction commits: a batch that is
rolled back (and answered again) can count twice. Good enough for rates and alerts; the tables
are the truth for audits.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

from leadgate.kit.metrics_folder import ENV as ENV

LEADS = Counter(
    "leadgate_leads_received", "Leads stored, by the status they were judged", ["status"]
)
INTAKE_BATCH = Histogram(
    "leadgate_intake_batch_size",
    "Leads per intake batch (one lookup and one write)",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512),
)
INTAKE_SECONDS = Histogram(
    "leadgate_intake_batch_seconds",
    "Time to answer an intake batch (lookup, judging, write, commit)",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
DELIVERY_ATTEMPTS = Counter(
    "leadgate_delivery_attempts", "Delivery attempts, by outcome", ["outcome"]
)
DELIVERED = Counter("leadgate_deliveries_delivered", "Deliveries the client acknowledged")
DELIVERY_LATENCY = Histogram(
    "leadgate_delivery_latency_seconds",
    "From a lead's arrival to its delivery's acknowledgement by the client",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800),
)
WEBHOOK_ATTEMPTS = Counter("leadgate_webhook_attempts", "Webhook sends, by result", ["result"])
SYNC_ERRORS = Counter("leadgate_mirror_sync_errors", "Mirror syncs that failed, by kind", ["kind"])
