"""Duplicate Check: no earlier lead in scope, within the window, has the same value.

The check and the write are atomic through the plug-in protocol's claimed keys: `claimed_keys`
says which key a lead claims (the SHA-256 of its normalised value, in a scope), every driver
locks and probes the keys of a batch in the leads' write transaction and stores them with the
leads (`leads.keys`), and `run` reads the answer through `ctx.earlier`. So of two leads with one
value, whether in one batch, two batches or two processes, exactly one is first.

Semantics (ours where the issue is silent):

- `field_name` defaults to `email`: a campaign without an `email` field names its field.
- Scopes: `campaign` (this campaign's leads), `publisher` (this publisher's leads in this
  campaign; an admin's leads are one publisher of their own), `instance` (every campaign of the
  instance: keys of every job of instance scope are shared, whatever field they read).
- `normalise`: Unicode NFKC, case-folded, trimmed; a value shaped like an address (one `@`,
  something either side, no spaces) also loses a `+tag` of its local part
  (`Kim+news@Acme.com` is `kim@acme.com`). Without it, the value as sent.
- A missing or blank value claims nothing and passes.
- Earlier leads count while their status is pending, valid, caution or invalid. With
  `count_invalid: false` only valid and caution ones count (also leads marked valid later by a
  person). With `free_returned`, a lead a person or the client marked invalid after the
  Processr's verdict no longer counts. Test leads never count. A deleted lead takes its keys
  with it.
- The window (`lookback_days`, 0 = for ever) is measured from when the lead being judged came.
  A lead judged again keeps to the leads stored before it, so it is never its own duplicate.
- Only leads judged while a claiming job ran hold keys: adding the check to a campaign does not
  make its older leads count.
- The flag names the field, the earlier lead and when it came; showing the value is fine (it is
  the lead's own).
"""

from __future__ import annotations

import functools
import hashlib
import unicodedata
from collections.abc import Mapping, Sequence
from datetime import UTC, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from leadgate.jobs.flag_text import shown
from leadgate.jobs.operators import FieldName
from leadgate.processr.lead_values import field_text, is_blank
from leadgate.processr.plugin import (
    BaseJobType,
    Claim,
    Earlier,
    JobContext,
    JobResult,
    Origin,
    Tab,
    Unprobed,
    failed,
    passed,
)

FOUND = "duplicate.found"
NOT_CHECKED = "duplicate.not_checked"
MAX_LOOKBACK_DAYS = 36_500

Scope = Literal["campaign", "publisher", "instance"]

COUNTED = frozenset({"pending", "valid", "caution", "invalid", "returned"})
COUNTED_FREEING = COUNTED - {"returned"}
COUNTED_VALID = frozenset({"valid", "caution"})
SCOPE_WORDS = {
    "campaign": "in this campaign",
    "publisher": "from this publisher in this campaign",
    "instance": "in any campaign",
}


class DuplicateCheckConfig(BaseModel):
    """The field whose value must be new, where and how far back to look."""

    model_config = ConfigDict(extra="forbid", frozen=True, title="Duplicate Check")

    field_name: FieldName = Field(
        default="email",
        title="Field",
        description="The lead field whose value must not have been sent before.",
        json_schema_extra={"x-options": "fields"},
    )
    scope: Scope = Field(
        default="campaign",
        title="Look in",
        description=(
            "campaign: earlier leads of this campaign. publisher: earlier leads of the same "
            "publisher in this campaign. instance: earlier leads of every campaign."
        ),
    )
    lookback_days: int = Field(
        default=90,
        ge=0,
        le=MAX_LOOKBACK_DAYS,
        title="Look back (days)",
        description="How many days back an earlier lead counts; 0 looks back for ever.",
    )
    normalise: bool = Field(
        default=True,
        title="Normalise",
        description=(
            "Compare values trimmed and in any case; for an email address also without a "
            "+tag (kim+news@acme.com is kim@acme.com)."
        ),
    )
    count_invalid: bool = Field(
        default=True,
        title="Count invalid and pending leads",
        description="When off, only earlier leads that are valid or held (caution) count.",
    )
    free_returned: bool = Field(
        default=False,
        title="Free returned leads",
        description=(
            "When on, a lead that a person or the client marked invalid after it was judged "
            "no longer counts, so its value can be sent again."
        ),
    )


class DuplicateCheckJob(BaseJobType[DuplicateCheckConfig]):
    """Fails leads whose value was sent before, in scope and within the window."""

    config_model = DuplicateCheckConfig
    type = "duplicate_check"
    title = "Duplicate Check"
    flag_texts = {
        FOUND: "An earlier lead holds the same value (a duplicate)",
        NOT_CHECKED: "The duplicate check could not look at earlier leads",
    }
    tab: Tab = "quality"
    claims_keys = True

    def summary(self, config: DuplicateCheckConfig, list_names: Mapping[int, str]) -> str:
        """Where and how far back."""
        window = f"{config.lookback_days} days" if config.lookback_days else "for ever"
        return f"({SCOPE_WORDS[config.scope]}, {window})"

    def claimed_keys(
        self, data: Mapping[str, Any], config: DuplicateCheckConfig, origin: Origin
    ) -> Sequence[Claim]:
        """The lead's value in the job's scope, unless it is blank."""
        claim = claim_of(data, config, origin)
        return () if claim is None else (claim,)

    def run(
        self, data: Mapping[str, Any], config: DuplicateCheckConfig, ctx: JobContext
    ) -> JobResult:
        """Pass unless an earlier lead in scope and within the window has the same value."""
        name = config.field_name
        text = field_text(data, name)
        if is_blank(text):
            return passed()
        origin = ctx.origin
        if origin is None:
            return _not_checked(name)
        claim = claim_of(data, config, origin)
        assert claim is not None
        try:
            earlier = ctx.earlier(claim)
        except Unprobed:
            return _not_checked(name)
        if earlier is None or not within(earlier, config.lookback_days):
            return passed()
        return failed(FOUND, message(config, earlier, text))


def _not_checked(name: str) -> JobResult:
    return failed(
        NOT_CHECKED,
        f"The field {name} could not be checked for duplicates here; the lead needs judging again",
    )


def normalised(text: str) -> str:
    """A value as the check compares it when normalising: NFKC, case-folded, trimmed, and for
    an address, without a +tag."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    folded = folded.strip()
    local, at, domain = folded.partition("@")
    if at and local and domain and "@" not in domain and len(folded.split(None, 1)) == 1:
        base = local.split("+", 1)[0]
        if base:
            return f"{base}@{domain}"
    return folded


def scope_ref(scope: Scope, origin: Origin) -> str:
    """The scope's name among an instance's keys."""
    if scope == "instance":
        return "i"
    if scope == "publisher":
        publisher = "-" if origin.publisher_id is None else str(origin.publisher_id)
        return f"p:{origin.campaign_id}:{publisher}"
    return f"c:{origin.campaign_id}"


def counted(config: DuplicateCheckConfig) -> frozenset[str]:
    """The states of earlier leads that count."""
    if not config.count_invalid:
        return COUNTED_VALID
    return COUNTED_FREEING if config.free_returned else COUNTED


def claim_of(data: Mapping[str, Any], config: DuplicateCheckConfig, origin: Origin) -> Claim | None:
    """The key a lead's value claims, or None for a blank value."""
    text = field_text(data, config.field_name)
    if is_blank(text):
        return None
    return Claim(
        scope_ref(config.scope, origin), digest_of(text, config.normalise), counted(config)
    )


@functools.lru_cache(maxsize=4096)
def digest_of(text: str, normalise: bool) -> bytes:
    """The SHA-256 of the value as compared (cached: `run` asks again for the key it claimed)."""
    value = normalised(text) if normalise else text
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).digest()


def within(earlier: Earlier, lookback_days: int) -> bool:
    """Whether the earlier lead came within the window (0 days: any time)."""
    return lookback_days == 0 or earlier.age <= timedelta(days=lookback_days)


def message(config: DuplicateCheckConfig, earlier: Earlier, text: str) -> str:
    """The flag's text: the field, the earlier lead, when it came, where we looked."""
    window = f"the last {config.lookback_days} days" if config.lookback_days else "any time"
    when = f"{earlier.at.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
    return (
        f"The field {config.field_name} holds the same value as lead {earlier.lead_id}, received "
        f"{when} ({SCOPE_WORDS[config.scope]}, {window}). The value supplied was {shown(text)}"
    )
