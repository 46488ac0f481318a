"""The job type registry: a plain dict keyed by type name that refuses duplicates.

The Processr holds one per process (`REGISTRY`) and never fills it itself: the composition root
installs the types of `leadgate.jobs` (`leadgate.plugins.load()`), so the core knows no type.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pydantic import ValidationError

from leadgate.processr.plugin import JobType


class UnknownJobType(KeyError):
    """No job type of that name is registered."""


class DuplicateJobType(ValueError):
    """A job type of that name is already registered."""


class JobRegistry:
    """Job types by name."""

    def __init__(self) -> None:
        self._types: dict[str, JobType[Any]] = {}
        self._secret_keys: frozenset[str] | None = None

    def register(self, job_type: JobType[Any]) -> None:
        """Add a job type; its name must be new."""
        if job_type.type in self._types:
            raise DuplicateJobType(f"job type {job_type.type!r} is already registered")
        self._types[job_type.type] = job_type
        self._secret_keys = None

    def secret_keys(self) -> frozenset[str]:
        """The config keys any type marks secret (what the config column seals)."""
        if self._secret_keys is None:
            self._secret_keys = frozenset(k for t in self._types.values() for k in t.secret_keys)
        return self._secret_keys

    def get(self, type_name: str) -> JobType[Any]:
        """The job type of that name, or UnknownJobType."""
        try:
            return self._types[type_name]
        except KeyError:
            if not self._types:
                raise RuntimeError(
                    "No job types are installed: call leadgate.plugins.load() at start-up."
                ) from None
            raise UnknownJobType(type_name) from None

    def find(self, type_name: str) -> JobType[Any] | None:
        """The job type of that name, or None."""
        return self._types.get(type_name)

    def all_types(self) -> list[JobType[Any]]:
        """Every registered job type, in registration order."""
        return list(self._types.values())

    def flag_text(self, code: str) -> str | None:
        """What a flag code means, from the type that declares it (None when none does)."""
        for job_type in self._types.values():
            text = job_type.flag_texts.get(code)
            if text is not None:
                return text
        return None

    def names(self, **declared: bool) -> frozenset[str]:
        """Names of the types whose declarations match, e.g. `names(reads_mirrors=True)`."""
        return frozenset(
            t.type
            for t in self._types.values()
            if all(getattr(t, k) == v for k, v in declared.items())
        )

    def __contains__(self, type_name: object) -> bool:
        return type_name in self._types

    def __iter__(self) -> Iterator[JobType[Any]]:
        return iter(self._types.values())


def describe(job_type: JobType[Any]) -> dict[str, Any]:
    """The `GET /job-types` entry of a job type: type, title, tab and config JSON schema."""
    return {
        "type": job_type.type,
        "title": job_type.title,
        "tab": job_type.tab,
        "config_schema": job_type.config_model.model_json_schema(),
    }


# The process's registry, filled by the composition root.
REGISTRY = JobRegistry()


def only_list_id(job_type: str, config: Mapping[str, Any]) -> int | None:
    """The list a job of this type and config reads, when it reads exactly one (None for none,
    several, an unknown type or a stored config that no longer validates)."""
    found = REGISTRY.find(job_type)
    if found is None:
        return None
    try:
        list_ids = found.list_ids(found.config_model.model_validate(config))
    except ValidationError:
        return None
    return next(iter(list_ids)) if len(list_ids) == 1 else None
