"""Validation lists: values, versions and the change log that mirrors sync from."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, false, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from leadgate.db import Base
from leadgate.kit.models import created_at, instance_fk, pk
from leadgate.kit.sealing import SealedText


class ValidationList(Base):
    __tablename__ = "validation_lists"

    id: Mapped[int] = pk()
    instance_id: Mapped[int] = instance_fk()
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    value_count: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    # A private list's values leave the instance only as HMAC-SHA256 hashes under `hash_key`
    # (sealed at rest: publishers get it, so we must read it back), named by `key_id`.
    private: Mapped[bool] = mapped_column(
        Boolean, nullable=False, default=False, server_default=false()
    )
    hash_key: Mapped[str | None] = mapped_column(SealedText())
    key_id: Mapped[str | None] = mapped_column(String(32))
    # The shortest and longest value, as stored and casefolded (`lists.lengths`); None:
    # unknown since a big change (worked out again when a private list's definition needs it).
    lengths: Mapped[dict[str, Any] | None] = mapped_column(JSONB(none_as_null=True))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = mapped_column(
        server_default=func.now(), onupdate=func.now(), nullable=False
    )


class ListValue(Base):
    __tablename__ = "list_values"

    list_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("validation_lists.id", ondelete="CASCADE"), primary_key=True
    )
    value: Mapped[str] = mapped_column(Text, primary_key=True)


class ListVersion(Base):
    """One change of a list. `kind` is `delta` (its values are in list_changes) or `reset`
    (too big to log value by value: a mirror older than it takes a full snapshot)."""

    __tablename__ = "list_versions"

    list_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("validation_lists.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), nullable=False)
    added: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    removed: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    at: Mapped[datetime] = created_at()


class ListChange(Base):
    """A value added (`+`) or removed (`-`) in a delta version."""

    __tablename__ = "list_changes"
    __table_args__ = (Index("ix_list_changes_list_version", "list_id", "version"),)

    id: Mapped[int] = pk()
    list_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("validation_lists.id", ondelete="CASCADE"), nullable=False
    )
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    op: Mapped[str] = mapped_column(String(1), nullable=False)
    value: Mapped[str] = mapped_column(Text, nullable=False)
