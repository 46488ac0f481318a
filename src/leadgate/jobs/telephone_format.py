"""Telephone Format Check: the field holds a valid telephone number (the `phonenumbers` library).

Semantics (ours where the issue is silent):

- A number written without a country code is read as a number of the lead's region: the ISO 3166
  alpha-2 code in `country_field` when that is filled in and known (any case; "UK" is taken as
  GB), else `default_region`. Country names are not understood there.
- "Valid" is `phonenumbers.is_valid_number`: valid for the region the number belongs to (a
  Guernsey mobile written as 07911 ... with GB as the region is valid).
- `types`: mobile passes MOBILE numbers, fixed passes FIXED_LINE ones, and numbers the library
  cannot tell apart (FIXED_LINE_OR_MOBILE, as in the US) pass both; any passes every valid number.
- A missing or empty field holds no valid number.
"""

from collections.abc import Mapping
from typing import Any, Literal

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumber, PhoneNumberType
from pydantic import BaseModel, ConfigDict, Field, field_validator

from leadgate.config import Settings
from leadgate.jobs.flag_text import shown
from leadgate.jobs.operators import FieldName
from leadgate.kit.repository import TenantScope
from leadgate.processr.lead_values import field_text
from leadgate.processr.plugin import (
    BaseJobType,
    JobContext,
    JobResult,
    Option,
    Tab,
    failed,
    passed,
)

INVALID = "telephone_format.invalid"
WRONG_TYPE = "telephone_format.wrong_type"

NumberKind = Literal["any", "mobile", "fixed"]

ACCEPTED: dict[str, frozenset[int]] = {
    "mobile": frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE}),
    "fixed": frozenset({PhoneNumberType.FIXED_LINE, PhoneNumberType.FIXED_LINE_OR_MOBILE}),
}
WANTED = {"mobile": "a mobile number", "fixed": "a fixed-line number"}
TYPE_NAMES = {
    PhoneNumberType.FIXED_LINE: "fixed-line",
    PhoneNumberType.MOBILE: "mobile",
    PhoneNumberType.TOLL_FREE: "toll-free",
    PhoneNumberType.PREMIUM_RATE: "premium-rate",
    PhoneNumberType.SHARED_COST: "shared-cost",
    PhoneNumberType.VOIP: "VoIP",
    PhoneNumberType.PERSONAL_NUMBER: "personal",
    PhoneNumberType.PAGER: "pager",
    PhoneNumberType.UAN: "company (UAN)",
    PhoneNumberType.VOICEMAIL: "voicemail",
}
PARSE_ERRORS = {
    NumberParseException.INVALID_COUNTRY_CODE: "its country code is unknown",
    NumberParseException.NOT_A_NUMBER: "it does not look like a telephone number",
    NumberParseException.TOO_SHORT_AFTER_IDD: "it is too short",
    NumberParseException.TOO_SHORT_NSN: "it is too short",
    NumberParseException.TOO_LONG: "it is too long",
}
# Region codes people write that ISO 3166 does not assign.
REGION_ALIASES = {"UK": "GB"}


class TelephoneFormatConfig(BaseModel):
    """The telephone field, the region of numbers without a country code, and the kinds allowed."""

    model_config = ConfigDict(extra="forbid", frozen=True, title="Telephone Format Check")

    field_name: FieldName = Field(
        title="Field",
        description="The lead field holding the telephone number.",
        json_schema_extra={"x-options": "fields"},
    )
    default_region: str = Field(
        title="Default region",
        description=(
            "The country of numbers written without a country code, as an ISO 3166 code "
            "such as GB, US or DE."
        ),
        json_schema_extra={"x-options": "regions"},
    )
    country_field: FieldName | None = Field(
        default=None,
        title="Country field",
        description=(
            "A lead field holding the lead's country as an ISO 3166 code (GB, US ...); when it "
            "is filled in, numbers without a country code are read as that country's."
        ),
        json_schema_extra={"x-options": "fields"},
    )
    types: NumberKind = Field(
        default="any",
        title="Number types",
        description=(
            "any: every valid number. mobile: mobile numbers only. fixed: fixed-line numbers "
            "only. Where mobile and fixed-line numbers look alike (as in the US) both pass."
        ),
    )

    @field_validator("default_region")
    @classmethod
    def _known_region(cls, value: str) -> str:
        region = region_of(value)
        if region is None:
            raise ValueError(f"{value!r} is not a known region; use an ISO 3166 code such as GB")
        return region


class TelephoneFormatJob(BaseJobType[TelephoneFormatConfig]):
    """Fails leads whose telephone number is not valid, or not of the kind wanted."""

    config_model = TelephoneFormatConfig
    type = "telephone_format"
    title = "Telephone Format Check"
    flag_texts = {
        INVALID: "The phone number is not valid",
        WRONG_TYPE: "The phone number is not of the wanted type (mobile or fixed)",
    }
    tab: Tab = "quality"

    def options(
        self, scope: TenantScope, key: str, config: Mapping[str, Any], settings: Settings
    ) -> list[Option] | None:
        """Every region the library knows, with its calling code."""
        if key != "default_region":
            return None
        return [
            Option(value=r, label=f"{r} (+{phonenumbers.country_code_for_region(r)})")
            for r in sorted(phonenumbers.SUPPORTED_REGIONS)
        ]

    def summary(self, config: TelephoneFormatConfig, list_names: Mapping[int, str]) -> str:
        """The region and the kinds allowed."""
        where = config.default_region
        if config.country_field:
            where = f"{config.country_field}, else {where}"
        kinds = "" if config.types == "any" else f", {config.types} only"
        return f"({where}{kinds})"

    def run(
        self, data: Mapping[str, Any], config: TelephoneFormatConfig, ctx: JobContext
    ) -> JobResult:
        """Pass a valid number (of the kinds wanted)."""
        name = config.field_name
        text = field_text(data, name).strip()
        if not text:
            return failed(
                INVALID, f"The field {name} is empty, so it holds no valid telephone number"
            )
        supplied = f"The value supplied was {shown(text)}"
        region = lead_region(data, config)
        try:
            number = phonenumbers.parse(text, region)
        except NumberParseException as exc:
            reason = PARSE_ERRORS.get(exc.error_type, "it cannot be read")
            return failed(
                INVALID, f"The field {name} does not hold a telephone number: {reason}. {supplied}"
            )
        if not phonenumbers.is_valid_number(number):
            return failed(
                INVALID,
                f"The field {name} does not hold a valid telephone number for "
                f"{region_name(number)}. {supplied}",
            )
        if config.types == "any":
            return passed()
        kind = phonenumbers.number_type(number)
        if kind in ACCEPTED[config.types]:
            return passed()
        return failed(
            WRONG_TYPE,
            f"The field {name} holds a {TYPE_NAMES.get(kind, 'special')} number, not "
            f"{WANTED[config.types]}. {supplied}",
        )


def region_of(text: str) -> str | None:
    """A supported region code from an ISO 3166 alpha-2 code in any case, or None."""
    code = text.strip().upper()
    code = REGION_ALIASES.get(code, code)
    return code if code in phonenumbers.SUPPORTED_REGIONS else None


def lead_region(data: Mapping[str, Any], config: TelephoneFormatConfig) -> str:
    """The region numbers without a country code are read in: the lead's, else the default."""
    if config.country_field:
        found = region_of(field_text(data, config.country_field))
        if found is not None:
            return found
    return config.default_region


def region_name(number: PhoneNumber) -> str:
    """The region a parsed number belongs to ("GB"), or its calling code ("+999")."""
    region = phonenumbers.region_code_for_number(number) or (
        phonenumbers.region_code_for_country_code(number.country_code or 0)
    )
    if region and region != phonenumbers.UNKNOWN_REGION:
        return region
    return f"+{number.country_code}"
