"""Every job type leadgate ships: the one place that knows them.

Adding a job type = one module in this package (config model, `run`, declarations and hooks,
see `leadgate.processr.plugin.JobType`) + one line below + its tests.
"""

from __future__ import annotations

from typing import Any

from leadgate.jobs.conditional import ConditionalJob
from leadgate.jobs.connect_delivery import ConnectDeliveryJob
from leadgate.jobs.connect_mirror import ConnectSimpleConditionalJob, ConnectValidationListJob
from leadgate.jobs.duplicate_check import DuplicateCheckJob
from leadgate.jobs.email_format import EmailFormatJob
from leadgate.jobs.field_length import FieldLengthJob
from leadgate.jobs.multiple_empty_fields import MultipleEmptyFieldsJob
from leadgate.jobs.non_standard_characters import NonStandardCharactersJob
from leadgate.jobs.repeated_characters import RepeatedCharactersJob
from leadgate.jobs.required_fields import RequiredFieldsJob
from leadgate.jobs.simple_conditional import SimpleConditionalJob
from leadgate.jobs.telephone_format import TelephoneFormatJob
from leadgate.jobs.test_data import TestDataJob
from leadgate.jobs.validation_list import ValidationListJob
from leadgate.jobs.value_transforms import ValueTransformsJob
from leadgate.processr.plugin import JobType
from leadgate.processr.registry import REGISTRY, JobRegistry

BUILTIN: tuple[JobType[Any], ...] = (
    ValidationListJob(),
    SimpleConditionalJob(),
    ConditionalJob(),
    RequiredFieldsJob(),
    TestDataJob(),
    FieldLengthJob(),
    RepeatedCharactersJob(),
    NonStandardCharactersJob(),
    MultipleEmptyFieldsJob(),
    EmailFormatJob(),
    TelephoneFormatJob(),
    DuplicateCheckJob(),
    ValueTransformsJob(),
    ConnectValidationListJob(),
    ConnectSimpleConditionalJob(),
    ConnectDeliveryJob(),
)


def install(registry: JobRegistry = REGISTRY) -> JobRegistry:
    """Register the built-in types (once: a type already there is left as it is)."""
    for job_type in BUILTIN:
        if job_type.type not in registry:
            registry.register(job_type)
    return registry


def builtin_registry() -> JobRegistry:
    """A new registry holding the built-in job types."""
    return install(JobRegistry())
