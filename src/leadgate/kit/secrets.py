"""Generating and hashing bearer secrets (tokens and keys are high-entropy, so SHA-256 suffices)."""

from __future__ import annotations

import hashlib
import secrets


def new_secret(prefix: str) -> str:
    """A fresh secret such as `lga_…` (admin) or `lgp_…` (publisher key)."""
    return f"{prefix}_{secrets.token_urlsafe(32)}"


def hash_secret(secret: str) -> str:
    """The stored form of a secret."""
    return hashlib.sha256(secret.encode()).hexdigest()
