"""email_format: syntax by email-validator (no network), free-mail domains, config errors."""

from __future__ import annotations

from typing import Any

import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from leadgate.jobs.email_format import (
    FREE_MAIL_DOMAINS,
    Address,
    EmailFormatConfig,
    EmailFormatJob,
    checked_address,
)
from leadgate.processr.plugin import Flag, StaticContext

JOB = EmailFormatJob()


def judge(value: Any, **config: Any) -> list[Flag]:
    parsed = EmailFormatConfig.model_validate({"field_name": "email", **config})
    data = {} if value is ... else {"email": value}
    result = JOB.run(data, parsed, StaticContext())
    assert result.passed is (not result.flags)
    return result.flags


@pytest.mark.parametrize(
    "value",
    [
        "kim@acme.example",
        "Kim.Lee+leads@Acme.CO.UK",
        "  kim@acme.example  ",  # spaces around are ignored
        "josé@bücher.de",  # internationalised
        "ann@xn--bcher-kva.de",
        "o'brien@acme.example",
        "kim@gmail.com",  # free mail is allowed by default
    ],
)
def test_valid_addresses_pass(value: str) -> None:
    assert judge(value) == []


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("kim", "An email address must have an @-sign."),
        ("kim@", "There must be something after the @-sign."),
        ("kim@acme", "It should have a period."),
        ("kim..lee@acme.example", "two periods in a row"),
        ("kim lee@acme.example", "invalid characters"),
        ("kim@localhost", "It should have a period."),
        ("kim@acme.test", "special-use or reserved name"),
        (12345, "An email address must have an @-sign."),
    ],
)
def test_invalid_addresses_fail_with_the_reason(value: Any, reason: str) -> None:
    (flag,) = judge(value)
    assert flag.code == "email_format.invalid"
    assert flag.message.startswith("The field email does not hold a valid email address: ")
    assert reason in flag.message
    assert flag.message.endswith(f"The value supplied was {value}")


@pytest.mark.parametrize("value", [..., None, "", "   "])
def test_missing_or_empty_is_not_an_address(value: Any) -> None:
    assert judge(value) == [
        Flag("email_format.invalid", "The field email is empty, so it holds no valid email address")
    ]


def test_long_values_are_cut_in_the_message() -> None:
    (flag,) = judge("x" * 500)
    assert flag.message.endswith("x…") and len(flag.message) < 200


def test_free_mail_fails_when_not_allowed() -> None:
    assert judge("Kim@GMail.COM", allow_free_mail=False) == [
        Flag(
            "email_format.free_mail",
            "The field email holds an address at the free-mail provider gmail.com; "
            "a business address is needed",
        )
    ]
    assert judge("kim@acme.example", allow_free_mail=False) == []
    assert judge("kim@mail.gmail.com", allow_free_mail=False) == []  # exact domains only
    assert judge("kim@gmail", allow_free_mail=False)[0].code == "email_format.invalid"


def test_own_free_mail_domains_in_any_form() -> None:
    config = {"allow_free_mail": False, "free_mail_domains": [" @Bücher.DE ", "ACME.example."]}
    assert EmailFormatConfig.model_validate({"field_name": "e", **config}).free_mail_domains == [
        "bücher.de",
        "acme.example",
    ]
    assert judge("ann@xn--bcher-kva.de", **config)[0].code == "email_format.free_mail"
    assert judge("ann@BÜCHER.de", **config)[0].code == "email_format.free_mail"
    assert judge("ann@acme.example", **config)[0].code == "email_format.free_mail"
    assert judge("ann@gmail.com", **config) == []


def test_the_default_list_holds_the_big_providers() -> None:
    config = EmailFormatConfig(field_name="email")
    assert config.allow_free_mail is True
    assert config.free_mail_domains == list(FREE_MAIL_DOMAINS)
    for domain in ("gmail.com", "googlemail.com", "yahoo.com", "hotmail.com", "outlook.com"):
        assert domain in FREE_MAIL_DOMAINS
    for domain in ("live.com", "aol.com", "icloud.com", "gmx.de", "mail.ru", "yandex.ru"):
        assert domain in FREE_MAIL_DOMAINS
    assert {"proton.me", "protonmail.com"} <= set(FREE_MAIL_DOMAINS)
    assert len(set(FREE_MAIL_DOMAINS)) == len(FREE_MAIL_DOMAINS)
    assert all(d == d.lower().strip() for d in FREE_MAIL_DOMAINS)


def test_summary() -> None:
    assert JOB.summary(EmailFormatConfig(field_name="e"), {}) == ""
    assert JOB.summary(EmailFormatConfig(field_name="e", allow_free_mail=False), {}) == (
        "no free mail"
    )


@pytest.mark.parametrize(
    ("config", "where"),
    [
        ({}, "field_name"),
        ({"field_name": " "}, "field_name"),
        (
            {"field_name": "e", "allow_free_mail": False, "free_mail_domains": []},
            "free_mail_domains",
        ),
        ({"field_name": "e", "free_mail_domains": ["gmail"]}, "free_mail_domains"),
        ({"field_name": "e", "free_mail_domains": ["a b.com"]}, "free_mail_domains"),
        ({"field_name": "e", "free_mail_domains": ["kim@gmail.com"]}, "free_mail_domains"),
        ({"field_name": "e", "check_dns": True}, "check_dns"),
    ],
)
def test_bad_configs_name_the_key(config: dict[str, Any], where: str) -> None:
    with pytest.raises(ValidationError) as caught:
        EmailFormatConfig.model_validate(config)
    assert [e["loc"][0] for e in caught.value.errors()] == [where]


def test_an_empty_domain_list_is_fine_while_free_mail_is_allowed() -> None:
    assert EmailFormatConfig(field_name="e", free_mail_domains=[]).free_mail_domains == []


# Plain addresses, odd ones and almost-plain ones: the characters where the library's rules
# bite (dots, hyphens, underscores, digits, case, non-ASCII, spaces, a second @), and domains
# ending in special-use or numeric labels.
_chars = st.sampled_from([*"aZ09._-+@ ü'ß"])
_parts = st.lists(st.one_of(st.text(_chars, max_size=3), st.just("xn--")), max_size=4).map("".join)
# An ASCII (IDNA) domain whose Unicode form is longer in UTF-8 than as given.
_CJK = ("中文域名测试" * 3 + ".cn").encode("idna").decode()
_ends = st.sampled_from(["", ".com", ".CO.uk", ".test", ".localhost", ".123", "-", ".", ".ü"])
_addresses = st.one_of(
    st.builds(
        lambda a, b, end: f"{a}@{b}{end}",
        _parts,
        _parts,
        _ends,
    ),
    st.builds(lambda n, end: "k" * n + "@acme" + end, st.integers(60, 70), _ends),
    st.builds(  # near the length limit, where a normalised domain's length counts
        lambda n, domain: "k" * n + "@" + domain,
        st.integers(190, 250),
        st.sampled_from(["xn--bcher-kva.de", "XN--BCHER-KVA.DE", "Bücher.de", "acme.COM", _CJK]),
    ),
    st.builds(lambda n: "kim@" + "a" * n + ".com", st.integers(60, 260)),
)


@settings(max_examples=600, deadline=None)
@given(address=_addresses)
def test_the_address_check_agrees_with_email_validator(address: str) -> None:
    """Plain addresses are judged by their domain once per domain: the same verdicts, domains
    and messages as email-validator's on the whole address."""
    try:
        valid = validate_email(address, check_deliverability=False)
    except EmailNotValidError as exc:
        assert checked_address(address) == str(exc)
    else:
        assert checked_address(address) == Address(valid.domain, valid.ascii_domain)
