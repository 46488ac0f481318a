"""Deliveries of leads to clients: a connection per delivery job, a row per lead, attempts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from leadgate.db import Base
from leadgate.kit.models import created_at, instance_fk, pk
from leadgate.kit.sealing import SealedText


class DeliveryConnection(Base):
    """The link of one Connect delivery job to the client: its pulled form and its circuit."""

    __tablename__ = "delivery_connections"

    job_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("processr_jobs.id", ondelete="CASCADE"), primary_key=True
    )
    instance_id: Mapped[int] = instance_fk()
    client_fields: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False)
    fields_pulled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # open: deliveries flow; paused: the circuit breaker (or a user) stopped them.
    state: Mapped[str] = mapped_column(String(16), nullable=False, default="open")
    consecutive_failures: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    paused_reason: Mapped[str | None] = mapped_column(Text)
    # "breaker": probed and resumed by itself once the client answers; "user": until resumed.
    paused_by: Mapped[str | None] = mapped_column(String(16))
    paused_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    follow_client_status: Mapped[bool] = mapped_column(default=True, nullable=False)
    webhook_id: Mapped[int | None] = mapped_column(BigInteger)
    # Sealed at rest (kit.sealing): we must read it back to sign or verify.
    webhook_secret: Mapped[str | None] = mapped_column(SealedText())


class Delivery(Base):
    """One lead to deliver through one Connect job; the row is the truth, tasks carry its id."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("lead_id", "job_id", name="uq_deliveries_lead_job"),
        Index("ix_deliveries_job_state", "job_id", "state", "id"),
        Index("ix_deliveries_client_lead", "job_id", "client_lead_id"),
        # The dashboards' client verdicts per day, from the index alone.
        Index(
            "ix_deliveries_job_delivered",
            "job_id",
            "delivered_at",
            postgresql_include=["client_status"],
        ),
    )

    id: Mapped[int] = pk()
    instance_id: Mapped[int] = instance_fk()
    lead_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("leads.id", ondelete="CASCADE"), index=True, nullable=False
    )
    job_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("processr_jobs.id", ondelete="CASCADE"), nullable=False
    )
    campaign_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    # queued -> delivered | held (mapping broken / circuit open) | dead (gave up; retryable)
    state: Mapped[str] = mapped_column(String(16), nullable=False, default="queued")
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    idempotency_key: Mapped[str] = mapped_column(String(200), nullable=False)
    client_lead_id: Mapped[int | None] = mapped_column(BigInteger)
    client_status: Mapped[str | None] = mapped_column(String(16))
    client_score: Mapped[int | None] = mapped_column(Integer)
    client_max_score: Mapped[int | None] = mapped_column(Integer)
    client_flags: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False, default=list)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now(), nullable=False
    )
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    status_checked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class DeliveryAttempt(Base):
    __tablename__ = "delivery_attempts"

    id: Mapped[int] = pk()
    delivery_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("deliveries.id", ondelete="CASCADE"), index=True, nullable=False
    )
    at: Mapped[datetime] = created_at()
    status_code: Mapped[int | None] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(16), nullable=False)
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
