"""Column helpers shared by every table."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Identity, func
from sqlalchemy.orm import Mapped, mapped_column


def pk() -> Mapped[int]:
    """An identity primary key."""
    return mapped_column(BigInteger, Identity(), primary_key=True)


def instance_fk() -> Mapped[int]:
    """The owning instance: every instance-owned row has one, and every query filters on it."""
    return mapped_column(
        BigInteger, ForeignKey("instances.id", ondelete="CASCADE"), index=True, nullable=False
    )


def created_at() -> Mapped[datetime]:
    """Creation time, set by the database."""
    return mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)
