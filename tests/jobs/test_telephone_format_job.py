"""telephone_format: parsing by phonenumbers, regions, the lead's country, number types, configs."""

from __future__ import annotations

from typing import Any

import phonenumbers
import pytest
from pydantic import ValidationError

from leadgate.config import Settings
from leadgate.jobs.telephone_format import TelephoneFormatConfig, TelephoneFormatJob, region_of
from leadgate.processr.plugin import Flag, StaticContext

JOB = TelephoneFormatJob()


def judge(data: dict[str, Any], **config: Any) -> list[Flag]:
    parsed = TelephoneFormatConfig.model_validate(
        {"field_name": "phone", "default_region": "GB", **config}
    )
    result = JOB.run(data, parsed, StaticContext())
    assert result.passed is (not result.flags)
    return result.flags


@pytest.mark.parametrize(
    "value",
    [
        "020 7946 0958",
        "(020) 7946-0958",
        "07400 123456",
        "+44 7400 123456",
        "0044 20 7946 0958",
        "447400123456",
        447400123456,
        "+1 650-253-0000",  # another country, written with its code
        "+44 7400 123456 ext. 12",
        " 020 7946 0958 ",
    ],
)
def test_valid_numbers_pass(value: Any) -> None:
    assert judge({"phone": value}) == []


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            "12",
            "The field phone does not hold a valid telephone number for GB. "
            "The value supplied was 12",
        ),
        (
            "020 7946 09",
            "The field phone does not hold a valid telephone number for GB. "
            "The value supplied was 020 7946 09",
        ),
        (
            "+1 555 0100",
            "The field phone does not hold a valid telephone number for US. "
            "The value supplied was +1 555 0100",
        ),
        (
            "call me",
            "The field phone does not hold a telephone number: it does not look like a "
            "telephone number. The value supplied was call me",
        ),
        (
            "+999 1234",
            "The field phone does not hold a telephone number: its country code is unknown. "
            "The value supplied was +999 1234",
        ),
        (
            "0" * 300,
            "The field phone does not hold a telephone number: it is too long. "
            f"The value supplied was {'0' * 59}…",
        ),
    ],
)
def test_invalid_numbers_fail_with_the_reason(value: str, message: str) -> None:
    assert judge({"phone": value}) == [Flag("telephone_format.invalid", message)]


@pytest.mark.parametrize("data", [{}, {"phone": None}, {"phone": ""}, {"phone": "  "}])
def test_missing_or_empty_is_no_number(data: dict[str, Any]) -> None:
    assert judge(data) == [
        Flag(
            "telephone_format.invalid",
            "The field phone is empty, so it holds no valid telephone number",
        )
    ]


def test_the_default_region_reads_national_numbers() -> None:
    assert judge({"phone": "030 123456"}, default_region="DE") == []
    assert judge({"phone": "030 123456"})[0].code == "telephone_format.invalid"
    assert judge({"phone": "650-253-0000"}, default_region="us") == []


def test_the_leads_country_field_wins_when_it_is_known() -> None:
    config = {"country_field": "country"}
    assert judge({"phone": "06 12 34 56 78", "country": "FR"}, **config) == []
    assert judge({"phone": "06 12 34 56 78", "country": " fr "}, **config) == []
    assert judge({"phone": "07400 123456", "country": "UK"}, **config) == []
    # Blank, unknown or a country name: the default region.
    for country in (None, "", "France", "XX", 33):
        assert judge({"phone": "07400 123456", "country": country}, **config) == []
    # A number with a country code is that country's, whatever the lead says.
    assert judge({"phone": "+44 20 7946 0958", "country": "US"}, **config) == []


def test_types_mobile_and_fixed() -> None:
    mobile, fixed, toll_free = "07400 123456", "020 7946 0958", "0800 123 4567"
    assert judge({"phone": mobile}, types="mobile") == []
    assert judge({"phone": fixed}, types="mobile") == [
        Flag(
            "telephone_format.wrong_type",
            "The field phone holds a fixed-line number, not a mobile number. "
            "The value supplied was 020 7946 0958",
        )
    ]
    assert judge({"phone": fixed}, types="fixed") == []
    assert judge({"phone": mobile}, types="fixed")[0].message.startswith(
        "The field phone holds a mobile number, not a fixed-line number."
    )
    assert judge({"phone": toll_free}, types="fixed")[0].message.startswith(
        "The field phone holds a toll-free number, not a fixed-line number."
    )
    for kind in ("any", "mobile", "fixed"):
        assert judge({"phone": "+1 650-253-0000"}, types=kind) == []  # fixed line or mobile
    assert judge({"phone": toll_free}, types="any") == []


def test_region_of() -> None:
    assert region_of(" gb ") == "GB"
    assert region_of("UK") == "GB"
    assert region_of("ZZ") is None
    assert region_of("001") is None
    assert region_of("") is None


def test_the_region_dropdown_lists_every_supported_region() -> None:
    options = JOB.options(None, "default_region", {}, Settings())  # type: ignore[arg-type]
    assert options is not None
    assert len(options) == len(phonenumbers.SUPPORTED_REGIONS)
    assert {"value": "GB", "label": "GB (+44)"} in [o.model_dump() for o in options]
    assert JOB.options(None, "field_name", {}, Settings()) is None  # type: ignore[arg-type]


def test_summary() -> None:
    config = TelephoneFormatConfig(field_name="p", default_region="GB")
    assert JOB.summary(config, {}) == "(GB)"
    config = TelephoneFormatConfig(
        field_name="p", default_region="GB", country_field="country", types="mobile"
    )
    assert JOB.summary(config, {}) == "(country, else GB, mobile only)"


def test_the_default_region_is_stored_as_its_code() -> None:
    config = TelephoneFormatConfig(field_name="p", default_region=" de ")
    assert config.model_dump() == {
        "field_name": "p",
        "default_region": "DE",
        "country_field": None,
        "types": "any",
    }


@pytest.mark.parametrize(
    ("config", "where"),
    [
        ({"default_region": "XX"}, "default_region"),
        ({"default_region": "Great Britain"}, "default_region"),
        ({"default_region": ""}, "default_region"),
        ({"default_region": None}, "default_region"),
        ({"types": "landline"}, "types"),
        ({"types": ["mobile"]}, "types"),
        ({"country_field": ""}, "country_field"),
        ({"format": "e164"}, "format"),
    ],
)
def test_bad_configs_name_the_key(config: dict[str, Any], where: str) -> None:
    with pytest.raises(ValidationError) as caught:
        TelephoneFormatConfig.model_validate({"field_name": "p", "default_region": "GB", **config})
    assert [e["loc"][0] for e in caught.value.errors()] == [where]


def test_the_default_region_is_required() -> None:
    with pytest.raises(ValidationError) as caught:
        TelephoneFormatConfig.model_validate({"field_name": "p"})
    assert caught.value.errors()[0]["loc"] == ("default_region",)
