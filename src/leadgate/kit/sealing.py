"""Secrets leadgate must read back, sealed at rest with the deployment key.

Client API keys in Connect job configs and webhook signing secrets are needed in plain text to
call or sign, so they cannot be hashed like our own tokens. They are stored sealed (Fernet:
AES-128-CBC + HMAC-SHA256, `lgs1:` + the token) with the deployment key, so a dump, a backup or
the WAL shows ciphertext only. The columns that hold them use `SealedText` (or a config type
built on `Sealer`), so code reads and writes plain values and never sees the sealed form.

The key is `LEADGATE_SECRET_KEY` (urlsafe base64 of 32 bytes, `leadgate secrets new-key`); a
comma-separated list rotates: the first seals, every one opens (`MultiFernet`), and
`leadgate secrets rotate` re-seals every stored secret under the first. Without the setting, a
key is generated once into the data folder (`secret.key`, mode 0600), so `make run` stays one
command; every machine of a deployment must then be given the same key.
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import CheckConstraint, Connection, Integer, Text, text
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from leadgate.db import Base

log = logging.getLogger(__name__)

PREFIX = "lgs1:"
KEY_FILE = "secret.key"


class WrongKey(RuntimeError):
    """The deployment key does not open a stored secret."""


class Sealer:
    """Seals with the first key, opens with any of them."""

    def __init__(self, keys: list[bytes]) -> None:
        if not keys:
            raise ValueError("at least one key")
        try:
            self._fernet = MultiFernet([Fernet(k) for k in keys])
        except ValueError as exc:
            raise WrongKey(
                "LEADGATE_SECRET_KEY must be urlsafe base64 of 32 bytes (comma-separated to "
                "rotate); `leadgate secrets new-key` makes one."
            ) from exc
        self.key_count = len(keys)

    def seal(self, plain: str) -> str:
        """The stored form of a secret (a new token each time)."""
        return PREFIX + self._fernet.encrypt(plain.encode()).decode()

    def open(self, stored: str) -> str:
        """The plain secret; a value stored before sealing existed is returned as it is."""
        if not is_sealed(stored):
            return stored
        try:
            return self._fernet.decrypt(stored[len(PREFIX) :].encode()).decode()
        except InvalidToken as exc:
            raise WrongKey(
                "A stored secret does not open with LEADGATE_SECRET_KEY: this is not the key "
                "the deployment's secrets were sealed with."
            ) from exc

    def reseal(self, stored: str) -> str:
        """The secret sealed under the first key (plain values get sealed)."""
        if not is_sealed(stored):
            return self.seal(stored)
        try:
            return PREFIX + self._fernet.rotate(stored[len(PREFIX) :].encode()).decode()
        except InvalidToken as exc:
            raise WrongKey("A stored secret opens with none of the keys given.") from exc


def is_sealed(value: str) -> bool:
    """Whether a stored value is a sealed secret."""
    return value.startswith(PREFIX)


def new_key() -> str:
    """A fresh deployment key."""
    return Fernet.generate_key().decode()


def keys_from(setting: str | None, data_dir: Path) -> list[bytes]:
    """The deployment's keys, the first one sealing and signing: the setting's, or the data
    folder's key file (made once; another process may make it at the same moment: the file is
    written aside and linked into place, so it is never read half-written)."""
    if setting is not None:
        keys = [k.strip().encode() for k in setting.split(",") if k.strip()]
        if not keys:
            raise WrongKey("LEADGATE_SECRET_KEY is set but holds no key.")
        return keys
    path = data_dir / KEY_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        aside = data_dir / f".{KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(new_key() + "\n")
        try:
            os.link(aside, path)
            log.warning(
                "generated the deployment key %s; give every machine of this deployment the "
                "same key (LEADGATE_SECRET_KEY), and keep a copy: without it the stored client "
                "keys and webhook secrets cannot be read",
                path,
            )
        except FileExistsError:
            pass  # another process was first: its key is the key
        finally:
            aside.unlink()
    key = path.read_text().strip()
    if not key:
        raise WrongKey(f"{path} is empty; set LEADGATE_SECRET_KEY or remove the file.")
    return [key.encode()]


_SEALER: Sealer | None = None


def configure(setting: str | None, data_dir: Path) -> Sealer:
    """Use these keys in this process from now on."""
    global _SEALER
    _SEALER = Sealer(keys_from(setting, data_dir))
    return _SEALER


def sealer() -> Sealer:
    """The process's sealer (configured from the settings on first use)."""
    if _SEALER is None:
        from leadgate.config import get_settings

        settings = get_settings()
        secret = settings.secret_key.get_secret_value() if settings.secret_key else None
        return configure(secret, settings.data_dir)
    return _SEALER


CANARY = "leadgate sealing canary"


class SealingCanary(Base):
    """One row: a known text sealed by the first process of the deployment (`check_key`)."""

    __tablename__ = "sealing_canary"
    __table_args__ = (CheckConstraint("id = 1", name="ck_sealing_canary_one_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    value: Mapped[str] = mapped_column(Text, nullable=False)


def check_key(connection: Connection) -> None:
    """Raise WrongKey unless this process's key opens the deployment's canary (sealed by the
    first process that started on this database): a wrong key stops a start-up with a clear
    message instead of failing later on the first stored secret."""
    connection.execute(
        text("INSERT INTO sealing_canary (id, value) VALUES (1, :v) ON CONFLICT (id) DO NOTHING"),
        {"v": sealer().seal(CANARY)},
    )
    stored = connection.execute(text("SELECT value FROM sealing_canary WHERE id = 1")).scalar_one()
    if sealer().open(stored) != CANARY:
        raise WrongKey("The deployment's canary opened to something else.")


class SealedText(TypeDecorator[str]):
    """A text column whose values are sealed in the database and plain in Python."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        if value is None or is_sealed(value):
            return value
        return sealer().seal(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else sealer().open(str(value))
