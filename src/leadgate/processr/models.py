"""The jobs of a campaign's Processr."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Index, Integer, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from leadgate.db import Base
from leadgate.kit import sealing
from leadgate.kit.models import created_at, instance_fk, pk
from leadgate.processr.registry import REGISTRY


class SealedConfig(TypeDecorator[dict[str, Any]]):
    """A job config: JSON, with the values of secret keys (a Connect job's client `API_Key`)
    sealed in the database and plain in Python (`leadgate.kit.sealing`)."""

    impl = JSONB
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if not isinstance(value, dict):
            return value
        keys = REGISTRY.secret_keys() & value.keys()
        if not keys:
            return value
        seal = sealing.sealer().seal
        return {
            k: seal(v) if k in keys and isinstance(v, str) and not sealing.is_sealed(v) else v
            for k, v in value.items()
        }

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if not isinstance(value, dict):
            return value
        sealed = [k for k, v in value.items() if isinstance(v, str) and sealing.is_sealed(v)]
        if not sealed:
            return value
        unseal = sealing.sealer().open
        return {k: unseal(v) if k in sealed else v for k, v in value.items()}


class ProcessrJob(Base):
    __tablename__ = "processr_jobs"
    __table_args__ = (Index("ix_processr_jobs_campaign", "campaign_id", "position"),)

    id: Mapped[int] = pk()
    instance_id: Mapped[int] = instance_fk()
    campaign_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("campaigns.id", ondelete="CASCADE"), nullable=False
    )
    type: Mapped[str] = mapped_column(String(64), nullable=False)
    label: Mapped[str] = mapped_column(String(200), nullable=False)
    config: Mapped[dict[str, Any]] = mapped_column(SealedConfig, nullable=False)
    score: Mapped[int] = mapped_column(Integer, nullable=False, default=10)
    hardfail: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    visible_to_publishers: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    tab: Mapped[str] = mapped_column(String(16), nullable=False)
    group_name: Mapped[str | None] = mapped_column(String(100))
    condition: Mapped[dict[str, Any] | None] = mapped_column(JSONB(none_as_null=True))
    catch_all: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    # Bumped by every change of the definition: publishers' mirrors and ETags follow it.
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    # Bumped when what the job reads besides its config changes (a Connect job's mirror synced):
    # part of the campaign's stamp, so every process rebuilds its judging view on the next lead.
    inputs_version: Mapped[int] = mapped_column(
        Integer, nullable=False, default=0, server_default="0"
    )
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now(), nullable=False
    )
