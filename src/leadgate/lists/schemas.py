"""The shapes of validation lists."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

MAX_VALUE_LENGTH = 500

Value = str


class ListCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    values: list[Value] = Field(default_factory=list, max_length=100_000)


class ListOut(BaseModel):
    id: int
    name: str
    version: int
    value_count: int
    # Beyond the contract's members: whether its values leave the instance only as hashes,
    # and the id of the key they are hashed with (None while public).
    private: bool = False
    key_id: str | None = None


class ListPatch(BaseModel):
    """`PATCH /lists/{id}`: rename, or make private / public (absent or null: unchanged)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    private: bool | None = None


class ValuesPatch(BaseModel):
    add: list[Value] = Field(default_factory=list, max_length=100_000)
    remove: list[Value] = Field(default_factory=list, max_length=100_000)


class VersionOut(BaseModel):
    version: int
    value_count: int


class Rejected(BaseModel):
    line: int
    reason: str


class ImportResult(BaseModel):
    version: int
    value_count: int
    added: int
    removed: int
    rejected: list[Rejected]


ImportMode = Literal["add", "replace", "remove"]


class ListDelta(BaseModel):
    """What changed since a version: `delta` (added/removed) or a `full` snapshot."""

    list_version: int
    mode: Literal["delta", "full"]
    added: list[str] | None = None
    removed: list[str] | None = None
    values: list[str] | None = None
