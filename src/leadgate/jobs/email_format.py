"""Email Format Check: the field holds a syntactically valid address, optionally not free mail.

Syntax is the `email-validator` library's (no DNS, no network): its rules for the local part,
internationalised addresses and reserved domains (`.test`, `localhost`) apply. Semantics (ours
where the issue is silent): spaces around the value are ignored; a missing or empty field is not
a valid address; free-mail domains match the address's normalised domain exactly (in either its
Unicode or its ASCII form), in any case; subdomains do not match.
"""

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from email_validator import EmailNotValidError, validate_email
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from leadgate.jobs.flag_text import shown
from leadgate.jobs.operators import FieldName
from leadgate.processr.lead_values import field_text
from leadgate.processr.plugin import BaseJobType, JobContext, JobResult, Tab, failed, passed

INVALID = "email_format.invalid"
FREE_MAIL = "email_format.free_mail"
MAX_DOMAINS = 5000

FREE_MAIL_DOMAINS = (
    "gmail.com",
    "googlemail.com",
    "yahoo.com",
    "yahoo.co.uk",
    "yahoo.co.in",
    "yahoo.co.jp",
    "yahoo.com.au",
    "yahoo.ca",
    "yahoo.de",
    "yahoo.es",
    "yahoo.fr",
    "yahoo.it",
    "ymail.com",
    "rocketmail.com",
    "hotmail.com",
    "hotmail.co.uk",
    "hotmail.de",
    "hotmail.es",
    "hotmail.fr",
    "hotmail.it",
    "outlook.com",
    "outlook.de",
    "outlook.fr",
    "live.com",
    "live.co.uk",
    "live.de",
    "live.fr",
    "msn.com",
    "aol.com",
    "icloud.com",
    "me.com",
    "mac.com",
    "gmx.com",
    "gmx.net",
    "gmx.de",
    "gmx.at",
    "gmx.ch",
    "web.de",
    "t-online.de",
    "mail.com",
    "mail.ru",
    "yandex.ru",
    "yandex.com",
    "proton.me",
    "protonmail.com",
    "pm.me",
    "tutanota.com",
    "zoho.com",
    "fastmail.com",
    "qq.com",
    "163.com",
    "126.com",
    "orange.fr",
    "free.fr",
    "laposte.net",
    "libero.it",
    "btinternet.com",
    "comcast.net",
    "seznam.cz",
    "wp.pl",
    "o2.pl",
    "rediffmail.com",
)


class EmailFormatConfig(BaseModel):
    """The email field, and whether free-mail addresses pass."""

    model_config = ConfigDict(extra="forbid", frozen=True, title="Email Format Check")

    field_name: FieldName = Field(
        title="Field",
        description="The lead field holding the email address.",
        json_schema_extra={"x-options": "fields"},
    )
    allow_free_mail: bool = Field(
        default=True,
        title="Allow free mail",
        description="When off, addresses at free-mail providers (the domains below) fail.",
    )
    free_mail_domains: list[str] = Field(
        default=list(FREE_MAIL_DOMAINS),
        max_length=MAX_DOMAINS,
        title="Free-mail domains",
        description=(
            "Domains of free-mail providers, matched exactly and in any case (gmail.com does not "
            "match mail.gmail.com). Used when Allow free mail is off."
        ),
    )

    @field_validator("free_mail_domains")
    @classmethod
    def _plain_domains(cls, domains: list[str], info: ValidationInfo) -> list[str]:
        cleaned = [domain_key(d) for d in domains]
        bad = next((d for d, c in zip(domains, cleaned, strict=True) if not _looks_like(c)), None)
        if bad is not None:
            raise ValueError(f"{bad!r} is not a domain such as gmail.com")
        if not cleaned and info.data.get("allow_free_mail") is False:
            raise ValueError("list at least one domain when free mail is not allowed")
        return list(dict.fromkeys(cleaned))


class EmailFormatJob(BaseJobType[EmailFormatConfig]):
    """Fails leads whose email address is not valid, or (optionally) is a free-mail address."""

    config_model = EmailFormatConfig
    type = "email_format"
    title = "Email Format Check"
    flag_texts = {
        INVALID: "The email address is not valid",
        FREE_MAIL: "The email address is a free-mail address",
    }
    tab: Tab = "quality"

    def summary(self, config: EmailFormatConfig, list_names: Mapping[int, str]) -> str:
        """Whether free mail fails."""
        return "" if config.allow_free_mail else "no free mail"

    def run(self, data: Mapping[str, Any], config: EmailFormatConfig, ctx: JobContext) -> JobResult:
        """Pass a valid address (not at a free-mail domain, unless those are allowed)."""
        name = config.field_name
        text = field_text(data, name).strip()
        if not text:
            return failed(INVALID, f"The field {name} is empty, so it holds no valid email address")
        address = checked_address(text)
        if isinstance(address, str):
            return failed(
                INVALID,
                f"The field {name} does not hold a valid email address: {address} "
                f"The value supplied was {shown(text)}",
            )
        if config.allow_free_mail:
            return passed()
        domain = free_mail_domain(address, _domains(tuple(config.free_mail_domains)))
        if domain is None:
            return passed()
        return failed(
            FREE_MAIL,
            f"The field {name} holds an address at the free-mail provider {domain}; "
            "a business address is needed",
        )


@dataclass(frozen=True, slots=True)
class Address:
    """What the job needs of a valid address: its domain, in Unicode and ASCII form."""

    domain: str
    ascii_domain: str


# An address whose local part is a plain dot-atom (these characters only) and whose domain has
# letters, digits, dots and hyphens only: the library's verdict on it is its verdict on the
# domain (then its length), so the domain is checked once per domain (email-validator spent
# ~25 µs an address, half of it on the domain character by character). Anything else goes to
# the library whole; tests/jobs/test_email_format_job.py checks the two agree.
_PLAIN = re.compile(r"[A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*@([A-Za-z0-9.-]+)")
_ADDRESS_MAX = 254  # the library's limit, in UTF-8 bytes, as given and once normalised


def checked_address(text: str) -> Address | str:
    """The address as email-validator (no DNS) sees it, or its reason for refusing it."""
    plain = _PLAIN.fullmatch(text)
    if plain is None or len(text) > _ADDRESS_MAX:
        return _verdict(text)
    found = _domain_verdict(plain.group(1))
    if isinstance(found, str):
        return found
    at = plain.start(1)  # the local part and the @
    if at + max(len(found.domain.encode()), len(found.ascii_domain)) > _ADDRESS_MAX:
        return _verdict(text)  # too long once its domain is normalised: the library says how
    return found


@functools.lru_cache(maxsize=8192)
def _domain_verdict(domain: str) -> Address | str:
    return _verdict(f"a@{domain}")


def _verdict(text: str) -> Address | str:
    try:
        valid = validate_email(text, check_deliverability=False)
    except EmailNotValidError as exc:
        return str(exc)
    return Address(valid.domain, valid.ascii_domain)


def domain_key(domain: str) -> str:
    """A domain as configured domains compare: trimmed, lower case, no leading @ or dot."""
    return domain.strip().lower().lstrip("@.").rstrip(".")


def _looks_like(domain: str) -> bool:
    return "." in domain and not any(c.isspace() or c in "@/" for c in domain)


@functools.lru_cache(maxsize=256)
def _domains(domains: tuple[str, ...]) -> frozenset[str]:
    return frozenset(domain_key(d) for d in domains)


def free_mail_domain(address: Address, domains: frozenset[str]) -> str | None:
    """The address's domain when it is one of `domains` (Unicode or ASCII form), else None."""
    for form in (address.domain, address.ascii_domain):
        if form.lower() in domains:
            return form.lower()
    return None
