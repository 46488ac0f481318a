"""The shapes of publishers and their keys."""

from __future__ import annotations

from pydantic import BaseModel, Field


class PublisherCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)


class PublisherOut(BaseModel):
    id: int
    name: str


class ApiKeyCreated(BaseModel):
    id: int
    key: str = Field(description="The key itself: shown only in this answer.")


class ApiKeyOut(BaseModel):
    id: int
    prefix: str
    revoked: bool
