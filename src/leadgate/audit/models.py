"""The audit log: who changed what in an instance, when and from where."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from leadgate.db import Base
from leadgate.kit.models import created_at, instance_fk, pk


class AuditEvent(Base):
    """One change, written in the transaction that made it."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_instance_id_id", "instance_id", "id"),)

    id: Mapped[int] = pk()
    instance_id: Mapped[int] = instance_fk()
    at: Mapped[datetime] = created_at()
    actor: Mapped[str] = mapped_column(String(300), nullable=False)
    address: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    # e.g. job.created, list.values_changed, key.revoked, grant.added, user.deleted
    action: Mapped[str] = mapped_column(String(64), nullable=False)
    target: Mapped[str] = mapped_column(String(300), nullable=False)
    detail: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, default=dict)
