"""Shared parameter types of the API edges."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

MAX_ID = 2**63 - 1

# Row ids are PostgreSQL bigints: a larger number can name nothing, so it is refused as input.
Id = Annotated[int, Path(ge=1, le=MAX_ID)]
