"""Publishers (lead suppliers) and their API keys."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from leadgate.db import Base
from leadgate.kit.models import created_at, instance_fk, pk


class Publisher(Base):
    __tablename__ = "publishers"

    id: Mapped[int] = pk()
    instance_id: Mapped[int] = instance_fk()
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[datetime] = created_at()


class PublisherApiKey(Base):
    """A publisher's key; shown once, stored as SHA-256."""

    __tablename__ = "publisher_api_keys"

    id: Mapped[int] = pk()
    instance_id: Mapped[int] = instance_fk()
    publisher_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("publishers.id", ondelete="CASCADE"), index=True, nullable=False
    )
    key_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    prefix: Mapped[str] = mapped_column(String(16), nullable=False)
    created_at: Mapped[datetime] = created_at()
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
