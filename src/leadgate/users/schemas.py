"""The shapes of users, and the forms that create and change them."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, Field, field_validator

Role = Literal["admin", "publisher"]

# Deliberately loose: one @, something on each side, no spaces. Mail servers decide the rest.
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+$")
MIN_PASSWORD = 10


def clean_email(value: str) -> str:
    """The address trimmed and lower-cased, or ValueError when it cannot be one."""
    email = value.strip().lower()
    if not EMAIL_RE.fullmatch(email) or len(email) > 254:
        raise ValueError("enter an email address such as kim@example.com")
    return email


class UserCreate(BaseModel):
    email: str = Field(max_length=254, title="Email")
    role: Role = Field(default="admin", title="Role")
    publisher_id: int | None = Field(default=None, title="Publisher")

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        return clean_email(value)


class PasswordChange(BaseModel):
    current_password: str = Field(max_length=1000, title="Current password")
    new_password: str = Field(min_length=MIN_PASSWORD, max_length=1000, title="New password")
    confirm_password: str = Field(max_length=1000, title="New password again")


class UserOut(BaseModel):
    id: int
    email: str
    role: Role
    publisher_id: int | None
    must_change_password: bool
