"""Tenant scoping in one place: every query on instance-owned rows goes through `TenantScope`."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from leadgate.errors import NotFound

M = TypeVar("M")


class TenantScope:
    """A session bound to one instance; it only hands out rows of that instance."""

    def __init__(self, session: Session, instance_id: int) -> None:
        self.session = session
        self.instance_id = instance_id

    def select(self, model: type[M]) -> Select[M]:
        """`SELECT model WHERE instance_id = <this instance>`."""
        return select(model).where(model.instance_id == self.instance_id)  # type: ignore[attr-defined]

    def get(self, model: type[M], row_id: int, *, missing: str = "not_found", what: str = "") -> M:
        """The row with this id in this instance, or NotFound with the given code."""
        row = self.session.scalars(
            self.select(model).where(model.id == row_id)  # type: ignore[attr-defined]
        ).one_or_none()
        if row is None:
            name = what or model.__name__.lower()
            raise NotFound(f"No {name} {row_id} in this instance.", code=missing)
        return row

    def add(self, row: Any) -> None:
        """Add a new row, stamping it with this instance."""
        row.instance_id = self.instance_id
        self.session.add(row)
