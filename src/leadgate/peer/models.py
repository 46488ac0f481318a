"""Events received from peers, recorded before they are acted on."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    String,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from leadgate.db import Base
from leadgate.kit.models import created_at, instance_fk, pk


class InboundEvent(Base):
    """An event received from a peer, recorded before it is acted on: a replay is a no-op."""

    __tablename__ = "inbound_events"
    __table_args__ = (UniqueConstraint("source", "event_id", name="uq_inbound_events_source_id"),)

    id: Mapped[int] = pk()
    instance_id: Mapped[int] = instance_fk()
    source: Mapped[str] = mapped_column(String(200), nullable=False)
    event_id: Mapped[str] = mapped_column(String(200), nullable=False)
    type: Mapped[str] = mapped_column(String(64), nullable=False)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    received_at: Mapped[datetime] = created_at()
