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
import time
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path

from leadgate.config import Settings
from leadgate.kit.sealing import keys_from


class Check(StrEnum):
    """How a token checks out."""

    OK = "ok"
    EXPIRED = "expired"  # signed by us, for this, but too old
    FORGED = "forged"  # not signed by us for this purpose and these values


def deployment_keys(settings: Settings) -> list[bytes]:
    """The deployment's secret keys, the signing one first (`kit.sealing.keys_from`)."""
    secret = settings.secret_key.get_secret_value() if settings.secret_key else None
    try:
        return keys_from(secret, Path(settings.data_dir))
    except OSError as exc:
        raise RuntimeError(
            f"No LEADGATE_SECRET_KEY, and the key file in {settings.data_dir} could not be "
            f"read or written ({exc}). Set LEADGATE_SECRET_KEY (the same on every machine)."
        ) from exc


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
