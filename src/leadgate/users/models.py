"""People who sign in to an instance's web UI, and their browser sessions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from leadgate.db import Base
from leadgate.kit.models import created_at, instance_fk, pk


class User(Base):
    """An instance admin, or a publisher's person (role `publisher`, tied to `publisher_id`)."""

    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("instance_id", "email"),)

    id: Mapped[int] = pk()
    instance_id: Mapped[int] = instance_fk()
    # Stored lower-cased: an email address is one account whatever its case.
    email: Mapped[str] = mapped_column(String(254), nullable=False)
    password_hash: Mapped[str] = mapped_column(String(200), nullable=False)
    role: Mapped[str] = mapped_column(String(16), nullable=False)
    publisher_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("publishers.id", ondelete="CASCADE"), index=True
    )
    # Set for passwords a machine chose (instance create, a user made by an admin).
    must_change_password: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    created_at: Mapped[datetime] = created_at()


class UserSession(Base):
    """A signed-in browser: the cookie holds the token, the row only its SHA-256."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = pk()
    instance_id: Mapped[int] = instance_fk()
    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id", ondelete="CASCADE"), index=True, nullable=False
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    csrf_token: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = created_at()
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class SignInFailure(Base):
    """A failed sign-in: counted per account and per client address by every process alike,
    so the throttle holds across API processes and machines (rows older than the window are
    dropped as new ones come)."""

    __tablename__ = "sign_in_failures"
    __table_args__ = (
        Index("ix_sign_in_failures_account", "account", "at"),
        Index("ix_sign_in_failures_client", "client", "at"),
    )

    id: Mapped[int] = pk()
    # `subdomain:email` (lower case): an account that may not exist is throttled all the same.
    account: Mapped[str] = mapped_column(String(320), nullable=False)
    client: Mapped[str] = mapped_column(String(64), nullable=False)
    at: Mapped[datetime] = created_at()
