"""The job type registry: a plain dict keyed by type name that refuses duplicates."""

from typing import Any

from leadgate.jobs.base import JobType
from leadgate.jobs.conditional import ConditionalJob
from leadgate.jobs.connect_delivery import ConnectDeliveryJob
from leadgate.jobs.connect_mirror import ConnectSimpleConditionalJob, ConnectValidationListJob
from leadgate.jobs.required_fields import RequiredFieldsJob
from leadgate.jobs.simple_conditional import SimpleConditionalJob
from leadgate.jobs.validation_list import ValidationListJob


class UnknownJobType(KeyError):
    """No job type of that name is registered."""


class DuplicateJobType(ValueError):
    """A job type of that name is already registered."""


class JobRegistry:
    """Job types by name."""

    def __init__(self) -> None:
        self._types: dict[str, JobType[Any]] = {}

    def register(self, job_type: JobType[Any]) -> None:
        """Add a job type; its name must be new."""
        if job_type.type in self._types:
            raise DuplicateJobType(f"job type {job_type.type!r} is already registered")
        self._types[job_type.type] = job_type

    def get(self, type_name: str) -> JobType[Any]:
        """The job type of that name, or UnknownJobType."""
        try:
            return self._types[type_name]
        except KeyError:
            raise UnknownJobType(type_name) from None

    def all_types(self) -> list[JobType[Any]]:
        """Every registered job type, in registration order."""
        return list(self._types.values())

    def __contains__(self, type_name: object) -> bool:
        return type_name in self._types


def describe(job_type: JobType[Any]) -> dict[str, Any]:
    """The `GET /job-types` entry of a job type: type, title, tab and config JSON schema."""
    return {
        "type": job_type.type,
        "title": job_type.title,
        "tab": job_type.tab,
        "config_schema": job_type.config_model.model_json_schema(),
    }


def builtin_registry() -> JobRegistry:
    """A new registry holding the built-in job types."""
    registry = JobRegistry()
    for job_type in (
        ValidationListJob(),
        SimpleConditionalJob(),
        ConditionalJob(),
        RequiredFieldsJob(),
        ConnectValidationListJob(),
        ConnectSimpleConditionalJob(),
        ConnectDeliveryJob(),
    ):
        registry.register(job_type)
    return registry


REGISTRY = builtin_registry()


def register(job_type: JobType[Any]) -> None:
    """Add a job type to the default registry."""
    REGISTRY.register(job_type)


def get(type_name: str) -> JobType[Any]:
    """A job type from the default registry."""
    return REGISTRY.get(type_name)


def all_types() -> list[JobType[Any]]:
    """Every job type in the default registry."""
    return REGISTRY.all_types()
