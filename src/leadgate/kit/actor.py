"""Who a unit of work acts for, carried on its session: set by the request's authentication,
read by the audit log (`leadgate.audit`) when a change is recorded in the same transaction."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

_KEY = "leadgate.actor"


@dataclass(frozen=True, slots=True)
class Actor:
    """A person or a secret, and the address the request came from."""

    who: str
    address: str = ""


SYSTEM = Actor("leadgate")


def act_as(session: Session, who: str, address: str = "") -> None:
    """The changes made in this session are made by `who`, from `address`."""
    session.info[_KEY] = Actor(who, address)


def actor_of(session: Session) -> Actor:
    """Who this session acts for (leadgate itself when no request said: a task, the CLI)."""
    found = session.info.get(_KEY)
    return found if isinstance(found, Actor) else SYSTEM
