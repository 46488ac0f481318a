"""Campaigns and their forms."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from leadgate.db import Base
from leadgate.kit.models import created_at, instance_fk, pk


class Campaign(Base):
    __tablename__ = "campaigns"

    id: Mapped[int] = pk()
    instance_id: Mapped[int] = instance_fk()
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="active")
    # The form is replaced as a whole (PUT), so it lives in one column: a change is atomic.
    fields: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False, default=list)
    created_at: Mapped[datetime] = created_at()


class CampaignPublisher(Base):
    """A grant: this publisher may send leads into (and read) this campaign."""

    __tablename__ = "campaign_publishers"

    campaign_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    publisher_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("publishers.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    instance_id: Mapped[int] = instance_fk()
    created_at: Mapped[datetime] = created_at()
