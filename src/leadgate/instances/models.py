"""Instances and the secrets that open them: admin tokens and publisher API keys."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from leadgate.db import Base
from leadgate.kit.models import created_at, instance_fk, pk


class Instance(Base):
    __tablename__ = "instances"

    id: Mapped[int] = pk()
    subdomain: Mapped[str] = mapped_column(String(63), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[datetime] = created_at()


class AdminToken(Base):
    """A secret with full access to one instance; only its SHA-256 is stored."""

    __tablename__ = "admin_tokens"

    id: Mapped[int] = pk()
    instance_id: Mapped[int] = instance_fk()
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    created_at: Mapped[datetime] = created_at()
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


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
