"""Keyed hashes of private list values: how a client shares a check without its values.

A private list's values leave the instance only as HMAC-SHA256 digests (lowercase hex) under a
per-list key. The publisher gets the key with the hashes and hashes its lead values the same
way, so it can look them up but cannot read the list. Both sides normalise a value exactly as
the client's own job compares it (`Normalise`): `str.strip()` of the lead value when `trim`
(list values are stored trimmed), then `str.casefold()` unless the job is case sensitive, then
UTF-8.

Pure functions only: no database, no web.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

SCHEME = "hmac-sha256"


@dataclass(frozen=True)
class Normalise:
    """How a value is normalised before it is hashed (the client job's case mode and trim)."""

    trim: bool
    casefold: bool

    def as_json(self) -> dict[str, bool]:
        """The `encoding.normalise` member."""
        return {"trim": self.trim, "casefold": self.casefold}

    @classmethod
    def of(cls, body: Any) -> Normalise:
        """From an `encoding.normalise` member (ValueError when it is not one)."""
        if not isinstance(body, dict) or not all(
            isinstance(body.get(k), bool) for k in ("trim", "casefold")
        ):
            raise ValueError(f"not a normalise member: {body!r}")
        return cls(trim=body["trim"], casefold=body["casefold"])

    def list_value(self, value: str) -> str:
        """A stored list value as it is hashed (list values are stored trimmed)."""
        return value.casefold() if self.casefold else value

    def lead_value(self, value: str) -> str:
        """A lead value as it is compared."""
        if self.trim:
            value = value.strip()
        return value.casefold() if self.casefold else value


def new_key() -> str:
    """A fresh per-list key: urlsafe base64 of 32 random bytes."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def new_key_id() -> str:
    """A fresh key id (names the key in answers and mirrors, reveals nothing of it)."""
    return secrets.token_hex(6)


def key_bytes(key: str) -> bytes:
    """The raw key of its text form (ValueError when it is not one)."""
    raw = base64.urlsafe_b64decode(key.encode())
    if len(raw) != 32:
        raise ValueError("a list key is 32 bytes")
    return raw


class Hasher:
    """HMAC-SHA256 (RFC 2104) under one key, with the padded key's SHA-256 states made once.

    `hmac.digest` prepares the key on every call: ~9 µs a value on the shared bench machine,
    against ~2.7 µs here, and `endswith` hashes up to one suffix per character of a lead
    (tests/lists/test_private_matching.py checks it against `hmac.digest`).
    """

    __slots__ = ("_inner", "_outer")

    def __init__(self, key: bytes) -> None:
        if len(key) > 64:  # a longer key is hashed first (RFC 2104); list keys are 32 bytes
            key = hashlib.sha256(key).digest()
        padded = key.ljust(64, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in padded))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in padded))

    def digest(self, message: bytes) -> bytes:
        """The 32-byte HMAC of a message."""
        inner = self._inner.copy()
        inner.update(message)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()


def digest(key: bytes, normalised: str) -> str:
    """The hex HMAC-SHA256 of an already normalised value."""
    return Hasher(key).digest(normalised.encode()).hex()


def digests(key: bytes, normalise: Normalise, values: Iterable[str]) -> Iterator[str]:
    """The hashes of stored list values (one per value; two values that fold alike hash alike)."""
    hasher = Hasher(key)
    for value in values:
        if value:
            yield hasher.digest(normalise.list_value(value).encode()).hex()


def encoding(key_id: str, normalise: Normalise, key: str, span: tuple[int, int]) -> dict[str, Any]:
    """The `encoding` member of a private values answer: scheme, key id, normalisation, and
    (beyond the contract's members) the key itself and the shortest and longest normalised
    value's length, which bound the prefixes / suffixes a mirror hashes."""
    return {
        "scheme": SCHEME,
        "key_id": key_id,
        "normalise": normalise.as_json(),
        "key": key,
        "min_length": span[0],
        "max_length": span[1],
    }
