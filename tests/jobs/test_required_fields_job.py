"""required_fields: presence, blanks, messages."""

from typing import Any

import pytest
from pydantic import ValidationError

from leadgate.jobs.required_fields import RequiredFieldsConfig, RequiredFieldsJob
from leadgate.processr.plugin import Flag, StaticContext

JOB = RequiredFieldsJob()


def flags(data: dict[str, Any], *fields: str) -> list[Flag]:
    config = RequiredFieldsConfig(fields=list(fields))
    return JOB.run(data, config, StaticContext()).flags


def test_all_present_passes() -> None:
    config = RequiredFieldsConfig(fields=["email", "optin", "count"])
    data = {"email": "a@b.c", "optin": False, "count": 0}
    assert JOB.run(data, config, StaticContext()).passed is True


def test_missing_none_and_blank_are_missing() -> None:
    data = {"email": None, "phone": "  ", "name": "Ann"}
    assert flags(data, "email", "phone", "name", "zip") == [
        Flag(
            "required_fields.missing", "The required fields email, phone, zip are missing or empty"
        )
    ]


def test_one_missing_field_reads_naturally() -> None:
    assert flags({"email": "a@b.c"}, "email", "phone") == [
        Flag("required_fields.missing", "The required field phone is missing or empty")
    ]


def test_message_example_from_the_brief() -> None:
    assert flags({}, "email", "phone")[0].message == (
        "The required fields email, phone are missing or empty"
    )


def test_repeated_fields_are_named_once() -> None:
    assert flags({}, "email", "email")[0].message == "The required field email is missing or empty"


@pytest.mark.parametrize("fields", [[], [""], ["  "]])
def test_needs_at_least_one_field(fields: list[str]) -> None:
    with pytest.raises(ValidationError):
        RequiredFieldsConfig(fields=fields)
