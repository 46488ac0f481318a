"""Extension points: a lower package announces what happened, higher ones connect to it.

A hook keeps the layers one-way: `lists` says "these values changed" without knowing that the
Processr tells publishers about it; the composition root (`leadgate.plugins.load`) connects the
Processr's listener once at start-up. Listeners run in the caller's transaction, in the order
they were connected.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


class Hook(Generic[P, R]):
    """A named list of listeners; calling the hook calls each and returns their answers."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._listeners: list[Callable[P, R]] = []

    def connect(self, listener: Callable[P, R]) -> None:
        """Add a listener (connecting the same one twice is a no-op)."""
        if listener not in self._listeners:
            self._listeners.append(listener)

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> list[R]:
        return [listener(*args, **kwargs) for listener in self._listeners]

    def __repr__(self) -> str:
        return f"Hook({self.name!r}, {len(self._listeners)} listeners)"
