"""Reason categories: what a person picks when marking leads by hand."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from leadgate.db import Base
from leadgate.kit.models import created_at, instance_fk, pk


class ReasonCategory(Base):
    """One reason, e.g. "Returned: wrong contact". Every instance starts with `None` (a trigger
    on `instances`, migration 0016); names are unique per instance whatever their case (the
    service checks the case, the constraint the exact name)."""

    __tablename__ = "reason_categories"
    __table_args__ = (UniqueConstraint("instance_id", "name", name="uq_reason_categories_name"),)

    id: Mapped[int] = pk()
    instance_id: Mapped[int] = instance_fk()
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[datetime] = created_at()
