"""Mirrors of clients' jobs and their list values."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from leadgate.db import Base
from leadgate.kit.models import created_at, instance_fk
from leadgate.kit.sealing import SealedText


class ConnectMirror(Base):
    """Our copy of one client job, owned by one of our Connect jobs."""

    __tablename__ = "connect_mirrors"

    job_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("processr_jobs.id", ondelete="CASCADE"), primary_key=True
    )
    instance_id: Mapped[int] = instance_fk()
    subdomain: Mapped[str] = mapped_column(String(63), nullable=False)
    remote_campaign_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    remote_job_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    state: Mapped[str] = mapped_column(String(16), nullable=False, default="pending")
    definition: Mapped[dict[str, Any] | None] = mapped_column(JSONB(none_as_null=True))
    version: Mapped[int | None] = mapped_column(Integer)
    list_version: Mapped[int | None] = mapped_column(Integer)
    value_count: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    etag: Mapped[str | None] = mapped_column(String(200))
    # What the client's last job.updated event said the job is at (cleared by the sync that
    # follows): a definition version we have already needs no GET, only the values may move.
    announced_version: Mapped[int | None] = mapped_column(Integer)
    announced_list_version: Mapped[int | None] = mapped_column(Integer)
    synced_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    checked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    error_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    webhook_id: Mapped[int | None] = mapped_column(BigInteger)
    # Sealed at rest (kit.sealing): we must read it back to sign or verify.
    webhook_secret: Mapped[str | None] = mapped_column(SealedText())
    # A private list's mirror holds hashes: how the client made them ({scheme, key_id,
    # normalise, max_length}) and the key to hash our lead values with (sealed). None: raw values.
    encoding: Mapped[dict[str, Any] | None] = mapped_column(JSONB(none_as_null=True))
    hash_key: Mapped[str | None] = mapped_column(SealedText())
    created_at: Mapped[datetime] = created_at()


class MirrorValue(Base):
    __tablename__ = "connect_mirror_values"

    job_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("connect_mirrors.job_id", ondelete="CASCADE"), primary_key=True
    )
    value: Mapped[str] = mapped_column(Text, primary_key=True)
