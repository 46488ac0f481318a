"""Short-lived tokens signed with the deployment's secret key (HMAC-SHA256, standard library).

A token is `<expiry>.<signature>`. The signature covers a purpose, the expiry and the values the
token is bound to (for the sign-in form: the instance and the nonce of the form's cookie), so a
token is good only for what it was issued for, only until it expires, and nobody without the
key can make one: a value chosen by an attacker for both cookie and form field does not verify.

The key is `LEADGATE_SECRET_KEY` (comma-separated to rotate: the first signs, each verifies);
without it, one is generated once into the data folder (`secret.key`, mode 0600) and read by
every process that shares the folder. Tokens are signed with a key derived from it, never with
the deployment key itself.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path

from leadgate.config import Settings

KEY_FILE = "secret.key"


class Check(StrEnum):
    """How a token checks out."""

    OK = "ok"
    EXPIRED = "expired"  # signed by us, for this, but too old
    FORGED = "forged"  # not signed by us for this purpose and these values


def deployment_keys(settings: Settings) -> list[bytes]:
    """The deployment's secret keys, the signing one first."""
    if settings.secret_key is not None:
        keys = [k.strip() for k in settings.secret_key.get_secret_value().split(",")]
        if not any(keys):
            raise RuntimeError("LEADGATE_SECRET_KEY is set but holds no key.")
        return [k.encode() for k in keys if k]
    try:
        return [_key_file(Path(settings.data_dir))]
    except OSError as exc:
        raise RuntimeError(
            f"No LEADGATE_SECRET_KEY, and the key file in {settings.data_dir} could not be "
            f"read or written ({exc}). Set LEADGATE_SECRET_KEY (the same on every machine)."
        ) from exc


def _key_file(folder: Path) -> bytes:
    """The key in `folder/secret.key`, made once (another process may make it at the same time:
    the file is written aside and linked into place, so it is never seen half-written)."""
    path = folder / KEY_FILE
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        aside = folder / f".{KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(base64.urlsafe_b64encode(secrets.token_bytes(32)) + b"\n")
        try:
            os.link(aside, path)
        except FileExistsError:
            pass  # another process was first: its key is the key
        finally:
            aside.unlink()
    key = path.read_bytes().strip()
    if not key:
        raise OSError(f"{path} is empty")
    return key


class Signer:
    """Signs and checks tokens bound to a purpose and a few values."""

    def __init__(self, keys: Sequence[bytes]) -> None:
        if not keys:
            raise ValueError("at least one key")
        self._keys = [hmac.new(k, b"leadgate signed tokens", hashlib.sha256).digest() for k in keys]

    def sign(self, purpose: str, *bound: str, ttl_s: int, now: float | None = None) -> str:
        """A token for `purpose` and these values, good for `ttl_s` seconds."""
        expires = int((time.time() if now is None else now) + ttl_s)
        return f"{expires}.{_mac(self._keys[0], purpose, expires, bound)}"

    def check(self, token: str, purpose: str, *bound: str, now: float | None = None) -> Check:
        """Whether `token` was signed for `purpose` and these values, and is still good."""
        expiry, _, mac = token.partition(".")
        if not (expiry.isascii() and expiry.isdigit() and mac):
            return Check.FORGED
        expires = int(expiry)
        expected = (_mac(k, purpose, expires, bound) for k in self._keys)
        if not any(hmac.compare_digest(mac.encode(), e.encode()) for e in expected):
            return Check.FORGED
        return Check.OK if (time.time() if now is None else now) <= expires else Check.EXPIRED


def _mac(key: bytes, purpose: str, expires: int, bound: Sequence[str]) -> str:
    message = json.dumps([purpose, expires, *bound]).encode()
    digest = hmac.new(key, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
