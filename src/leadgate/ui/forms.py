"""Form helpers shared by the pages: try a service call, and turn its errors into field messages."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from leadgate.errors import LeadgateError

_PLAIN = {
    "missing": "Please fill this in.",
    "int_parsing": "Enter a whole number.",
    "int_type": "Enter a whole number.",
    "float_parsing": "Enter a number.",
    "bool_parsing": "Choose yes or no.",
    "string_too_short": "Please fill this in.",
    "too_short": "Add at least one.",
    "json_invalid": "This is not valid JSON.",
}


def plain_message(error: Mapping[str, Any]) -> str:
    """A validation message in words for people (Pydantic's, tidied up)."""
    kind = str(error.get("type", ""))
    msg = str(error.get("msg", ""))
    shortest = (error.get("ctx") or {}).get("min_length")
    if kind in _PLAIN and not (kind in ("string_too_short", "too_short") and shortest != 1):
        return _PLAIN[kind]
    for prefix in ("Value error, ", "Assertion failed, "):
        msg = msg.removeprefix(prefix)
    msg = msg.replace("Input should be", "Choose", 1) if kind == "literal_error" else msg
    return (msg[:1].upper() + msg[1:]).rstrip(".") + "."


@dataclass
class Problems:
    """Messages to show: by input name (dotted, as the form names its inputs) and for the form."""

    fields: dict[str, str] = field(default_factory=dict)
    form: list[str] = field(default_factory=list)
    # Messages about a referenced thing (a campaign field, a list) rather than an input.
    refs: dict[str, str] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.fields or self.form or self.refs)

    def add(self, name: str, message: str) -> None:
        """Keep the first message per input (the later ones are usually consequences)."""
        self.fields.setdefault(name, message)

    def settle(self, names: Iterable[str]) -> None:
        """Move messages for inputs the form does not have to the nearest one it has, or the top."""
        known = set(names)
        for name in list(self.fields):
            if name in known:
                continue
            message = self.fields.pop(name)
            parts = name.split(".")
            while parts and ".".join(parts) not in known:
                parts.pop()
            if parts:
                self.add(".".join(parts), message)
            elif message not in self.form:
                self.form.append(message)


def loc_name(loc: Iterable[Any]) -> str:
    """The input name of an error location: ("config", "sections", 0, "field_name") -> dotted."""
    return ".".join(str(p) for p in loc)


def from_validation(exc: ValidationError, prefix: str = "") -> Problems:
    """Problems of a Pydantic model built from a form."""
    problems = Problems()
    for error in exc.errors():
        name = loc_name(([prefix] if prefix else []) + list(error["loc"]))
        if name:
            problems.add(name, plain_message(error))
        else:
            problems.form.append(plain_message(error))
    return problems


def from_error(exc: LeadgateError) -> Problems:
    """Problems of a service error: its `errors[].loc` by input, else its detail at the top."""
    problems = Problems()
    for error in exc.extra.get("errors") or []:
        name = loc_name(error.get("loc", []))
        message = plain_message(error)
        if name:
            problems.add(name, message)
        else:
            problems.form.append(message)
    if not problems:
        problems.form.append(exc.detail)
    return problems


@contextmanager
def attempt(session: Session) -> Iterator[None]:
    """Run a service call in a savepoint: when it fails, nothing it wrote half-way is kept."""
    with session.begin_nested():
        yield
