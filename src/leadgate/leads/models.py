"""Leads and their history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from leadgate.db import Base
from leadgate.kit.models import created_at, instance_fk, pk


class Lead(Base):
    __tablename__ = "leads"
    __table_args__ = (
        Index("ix_leads_instance_campaign_status_id", "instance_id", "campaign_id", "status", "id"),
        Index("ix_leads_instance_status_id", "instance_id", "status", "id"),
        Index("ix_leads_unjudged", "created_at", postgresql_where="judged_at IS NULL"),
        Index(
            "uq_leads_publisher_idempotency",
            "publisher_id",
            "idempotency_key",
            unique=True,
            postgresql_where="idempotency_key IS NOT NULL",
        ),
    )

    id: Mapped[int] = pk()
    instance_id: Mapped[int] = instance_fk()
    campaign_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("campaigns.id", ondelete="CASCADE"), nullable=False
    )
    publisher_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("publishers.id", ondelete="SET NULL")
    )
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="pending")
    score: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    max_score: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    flags: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False, default=list)
    jobs: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False, default=list)
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    request_hash: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = created_at()
    # Set once the Processr has looked at the lead; NULL after a crash mid-judging, so the
    # periodic re-judge can find it.
    judged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now(), nullable=False
    )


class LeadHistory(Base):
    """One thing that happened to a lead: received, judged, status changed, ..."""

    __tablename__ = "lead_history"
    __table_args__ = (
        # The verdicts people gave (the export's `reason` column): a few rows, one probe each.
        Index(
            "ix_lead_history_verdicts",
            "lead_id",
            "id",
            postgresql_where="event = 'status_changed' AND (detail ->> 'by') = 'user'",
        ),
    )

    id: Mapped[int] = pk()
    lead_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("leads.id", ondelete="CASCADE"), index=True, nullable=False
    )
    at: Mapped[datetime] = created_at()
    event: Mapped[str] = mapped_column(String(64), nullable=False)
    detail: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, default=dict)


class LeadKey(Base):
    """A key a lead claimed (`processr.plugin.Claim`): a scope, the SHA-256 of a normalised value
    (never the value), when the lead came, and the lead's state (its status, or `returned`).

    Written with the lead, in its transaction, under an advisory lock per key; replaced when
    the lead is judged again, re-stated when a person or the client changes its status, and
    gone with the lead. The probe index answers "the newest earlier lead of this key in these
    states" from the index alone.
    """

    __tablename__ = "lead_keys"
    __table_args__ = (
        Index(
            "ix_lead_keys_probe",
            "instance_id",
            "scope_ref",
            "hash",
            "at",
            "lead_id",
            postgresql_include=["state"],
        ),
    )

    lead_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("leads.id", ondelete="CASCADE"), primary_key=True
    )
    scope_ref: Mapped[str] = mapped_column(Text, primary_key=True)
    hash: Mapped[bytes] = mapped_column(LargeBinary, primary_key=True)
    instance_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("instances.id", ondelete="CASCADE"), nullable=False
    )
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    state: Mapped[str] = mapped_column(String(16), nullable=False)
