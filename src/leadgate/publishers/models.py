"""Publishers (lead suppliers); their API keys live with the instance's other secrets."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from leadgate.db import Base
from leadgate.kit.models import created_at, instance_fk, pk


class Publisher(Base):
    __tablename__ = "publishers"

    id: Mapped[int] = pk()
    instance_id: Mapped[int] = instance_fk()
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[datetime] = created_at()
