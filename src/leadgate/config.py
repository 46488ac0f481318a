"""The one Settings object: nothing else in leadgate reads the environment."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Deployment settings, read from `LEADGATE_*` variables (and `DATABASE_URL`)."""

    model_config = SettingsConfigDict(env_prefix="LEADGATE_", extra="ignore")

    database_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("DATABASE_URL", "LEADGATE_DATABASE_URL"),
        description="PostgreSQL URL; when unset an embedded PostgreSQL runs under data_dir.",
    )
    data_dir: Path = Field(default=Path(".leadgate"), description="Embedded PostgreSQL home.")
    secret_key: SecretStr | None = Field(
        default=None,
        description="The deployment key: it seals stored client keys and webhook secrets and "
        "signs the sign-in form's token (comma-separated to rotate: the first seals and signs, "
        "every one opens and is accepted). When unset, one is generated once into "
        "data_dir/secret.key; every machine of a deployment needs the same key.",
    )
    instance_url: str = Field(
        default="http://127.0.0.1:8000/i/{subdomain}",
        description="Template of an instance's base URL; must contain {subdomain}.",
    )
    base_domain: str | None = Field(
        default=None, description="With it, Host `{subdomain}.<base_domain>` routes to an instance."
    )
    webhook_allow: list[str] = Field(
        default_factory=list, description="Extra URL prefixes webhooks may point at."
    )
    max_body_bytes: int = Field(default=1_000_000, description="Cap on JSON request bodies.")
    max_upload_bytes: int = Field(default=200_000_000, description="Cap on CSV uploads.")
    sign_in_max_failures: int = Field(
        default=10, ge=1, description="Failed sign-ins per account within the window, then 429."
    )
    sign_in_max_failures_per_client: int = Field(
        default=30, ge=1, description="Failed sign-ins per client address within the window."
    )
    sign_in_window_s: int = Field(default=900, ge=1, description="The sign-in throttle's window.")
    rate_limit_requests: int = 3000
    rate_limit_window_s: int = 300
    db_pool_size: int = 10
    sync_poll_interval_s: int = 60
    webhook_max_attempts: int = Field(default=8, description="Attempts before a message is dead.")
    webhook_retry_base_s: float = Field(default=5.0, description="First retry delay; doubles.")
    webhook_retry_cap_s: float = Field(default=3600.0, description="Longest retry delay.")
    connect_max_staleness_s: float | None = Field(
        default=None,
        description="Mirrors older than this hold leads pending until the next sync (off: None).",
    )
    delivery_max_attempts: int = Field(default=8, description="Attempts before a delivery is dead.")
    delivery_retry_base_s: float = Field(default=2.0, description="First delivery retry delay.")
    delivery_retry_cap_s: float = Field(default=1800.0, description="Longest delivery retry delay.")
    delivery_batch_size: int = Field(
        default=100, ge=1, le=500, description="Deliveries a drain sends in one batch request."
    )
    delivery_drains_per_connection: int = Field(
        default=4, ge=1, le=32, description="Drains that may send a connection's backlog at once."
    )
    circuit_threshold: int = Field(
        default=10, description="Consecutive failed deliveries that pause a client connection."
    )
    status_poll_days: int = Field(
        default=14, description="How far back the client's verdicts are polled."
    )
    worker_heartbeat_s: float = Field(default=10.0, description="How often workers say alive.")
    worker_poll_s: float = Field(
        default=0.2,
        gt=0,
        description="How often an idle worker looks for jobs that no wake-up announced (a job "
        "that waited behind another holding its lock).",
    )
    stalled_after_s: float = Field(
        default=60.0,
        description="A worker silent this long is presumed dead; its jobs are retried "
        "(never less than three heartbeats).",
    )
    outbound_timeout_s: float = Field(default=10.0, description="Timeout of calls to peers.")
    log_format: Literal["text", "json"] = Field(
        default="text", description="`json`: one JSON object per log line, with the request id."
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings of this process, read once."""
    return Settings()
