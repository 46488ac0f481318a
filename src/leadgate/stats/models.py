"""The rollup of lead counts: compacted counts, and the deltas every write of leads appends.

A trigger on `leads` (migration 0015) appends one delta row per changed key and statement, so
concurrent intake transactions never update one shared row; `service.compact` folds the deltas
into `lead_counts`, and the readers sum both. No foreign keys: a deleted campaign's leads write
their negative deltas after the campaign row is gone, and their sums fold to zero.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, Date, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from leadgate.db import Base
from leadgate.kit.models import pk

# The code of the row that counts the leads themselves; other rows count leads with a flag code.
LEADS = ""
# The code counted for an invalid or caution lead that carries no flag (a person or the client
# gave the verdict, or it came that way).
NO_FLAG = "(none)"


class LeadCount(Base):
    """How many leads of a campaign, publisher (0: entered by an admin), day (of `created_at`,
    UTC) and status there are (`code` ""), or carry a flag code (`code` the flag's)."""

    __tablename__ = "lead_counts"
    __table_args__ = (Index("ix_lead_counts_instance_day", "instance_id", "day"),)

    instance_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    publisher_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    status: Mapped[str] = mapped_column(String(16), primary_key=True)
    code: Mapped[str] = mapped_column(Text, primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger, nullable=False)


class LeadCountDelta(Base):
    """A change of one `LeadCount` key by one statement on `leads` (appended, never updated)."""

    __tablename__ = "lead_count_deltas"
    __table_args__ = (
        Index("ix_lead_count_deltas_campaign_day", "instance_id", "campaign_id", "day"),
    )

    id: Mapped[int] = pk()
    instance_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    campaign_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    day: Mapped[date] = mapped_column(Date, nullable=False)
    publisher_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    code: Mapped[str] = mapped_column(Text, nullable=False)
    n: Mapped[int] = mapped_column(BigInteger, nullable=False)
