"""Instance names and the answers about instances."""

from __future__ import annotations

from pydantic import BaseModel, Field


class InstanceCreated(BaseModel):
    subdomain: str
    admin_token: str
    admin_email: str
    admin_password: str = Field(description="One-time password: changed at the first sign-in.")
