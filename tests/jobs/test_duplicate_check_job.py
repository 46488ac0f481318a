"""duplicate_check as a pure decision: keys, normalisation, windows, scopes, states, flags.

The database side (locks, probes, concurrency) is in tests/leads/test_duplicates.py."""

from __future__ import annotations

import hashlib
import re
import string
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from leadgate.jobs.duplicate_check import (
    COUNTED,
    DuplicateCheckConfig,
    DuplicateCheckJob,
    normalised,
)
from leadgate.processr.plugin import Claim, Earlier, Flag, Origin, StaticContext

JOB = DuplicateCheckJob()
ORIGIN = Origin(campaign_id=7, publisher_id=3)
AT = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def config(**values: Any) -> DuplicateCheckConfig:
    return DuplicateCheckConfig.model_validate(values)


def claim(data: dict[str, Any], cfg: DuplicateCheckConfig, origin: Origin = ORIGIN) -> Claim:
    (found,) = JOB.claimed_keys(data, cfg, origin)
    return found


def run(
    data: dict[str, Any], cfg: DuplicateCheckConfig, earlier: Earlier | None
) -> tuple[bool, list[Flag]]:
    ctx = StaticContext(origin=ORIGIN, earlier_leads={claim(data, cfg): earlier})
    result = JOB.run(data, cfg, ctx)
    assert result.passed is (not result.flags)
    return result.passed, result.flags


def test_defaults() -> None:
    assert config().model_dump() == {
        "field_name": "email",
        "scope": "campaign",
        "lookback_days": 90,
        "normalise": True,
        "count_invalid": True,
        "free_returned": False,
    }
    assert JOB.claims_keys and not JOB.transforms
    assert JOB.field_keys == frozenset({"field_name"})


@pytest.mark.parametrize(
    "values",
    [{"scope": "everywhere"}, {"lookback_days": -1}, {"lookback_days": 40_000}, {"field": "x"}],
)
def test_bad_configs_are_refused(values: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        config(**values)


def test_a_new_value_passes_and_a_repeated_one_names_the_earlier_lead() -> None:
    data = {"email": "kim@acme.example"}
    assert run(data, config(), None) == (True, [])
    passed, flags = run(data, config(), Earlier(41, AT, timedelta(days=3)))
    assert not passed
    assert flags == [
        Flag(
            "duplicate.found",
            "The field email holds the same value as lead 41, received 2026-03-01 09:30 UTC "
            "(in this campaign, the last 90 days). The value supplied was kim@acme.example",
        )
    ]


def test_the_window() -> None:
    data = {"email": "kim@acme.example"}
    inside = Earlier(1, AT, timedelta(days=90))
    outside = Earlier(1, AT, timedelta(days=90, seconds=1))
    assert run(data, config(), inside)[0] is False
    assert run(data, config(), outside)[0] is True
    ever = config(lookback_days=0, scope="instance")
    passed, flags = run(data, ever, Earlier(1, AT, timedelta(days=3650)))
    assert not passed
    assert "(in any campaign, any time)" in flags[0].message


def test_the_time_is_shown_in_utc() -> None:
    data = {"email": "kim@acme.example"}
    cet = datetime(2026, 3, 1, 10, 30, tzinfo=UTC).astimezone(datetime.now().astimezone().tzinfo)
    _, flags = run(data, config(), Earlier(9, cet, timedelta(0)))
    assert "received 2026-03-01 10:30 UTC" in flags[0].message


@pytest.mark.parametrize("value", [None, "", "   ", "\t"])
def test_blank_values_claim_nothing_and_pass(value: Any) -> None:
    data = {"email": value}
    assert JOB.claimed_keys(data, config(), ORIGIN) == ()
    assert JOB.claimed_keys({}, config(), ORIGIN) == ()
    assert JOB.run(data, config(), StaticContext()).passed


def test_without_the_keys_probed_the_lead_is_not_passed() -> None:
    """A context that did not lock and probe the lead's key (a bug, or no claims support)."""
    result = JOB.run({"email": "kim@acme.example"}, config(), StaticContext())
    assert not result.passed
    assert [f.code for f in result.flags] == ["duplicate.not_checked"]
    result = JOB.run({"email": "kim@acme.example"}, config(), StaticContext(origin=ORIGIN))
    assert [f.code for f in result.flags] == ["duplicate.not_checked"]


def test_scopes_name_their_keys() -> None:
    data = {"email": "kim@acme.example"}
    assert claim(data, config()).scope_ref == "c:7"
    assert claim(data, config(scope="publisher")).scope_ref == "p:7:3"
    assert claim(data, config(scope="publisher"), Origin(7, None)).scope_ref == "p:7:-"
    assert claim(data, config(scope="instance")).scope_ref == "i"
    # The instance scope is shared by every campaign and field.
    other = claim(
        {"workEmail": "KIM@acme.example"},
        config(scope="instance", field_name="workEmail"),
        Origin(8, None),
    )
    assert other == claim(data, config(scope="instance"))


def test_values_are_stored_as_sha256_of_the_normalised_text() -> None:
    found = claim({"email": " Kim+News@ACME.example "}, config())
    assert found.digest == hashlib.sha256(b"kim@acme.example").digest()
    raw = claim({"email": " Kim+News@ACME.example "}, config(normalise=False))
    assert raw.digest == hashlib.sha256(b" Kim+News@ACME.example ").digest()
    number = claim({"phone": 441234}, config(field_name="phone"))
    assert number.digest == hashlib.sha256(b"441234").digest()


def test_which_earlier_leads_count() -> None:
    data = {"email": "kim@acme.example"}
    assert claim(data, config()).counts == COUNTED
    assert claim(data, config()).counts == {"pending", "valid", "caution", "invalid", "returned"}
    assert claim(data, config(free_returned=True)).counts == {
        "pending",
        "valid",
        "caution",
        "invalid",
    }
    assert claim(data, config(count_invalid=False)).counts == {"valid", "caution"}
    assert claim(data, config(count_invalid=False, free_returned=True)).counts == {
        "valid",
        "caution",
    }


@pytest.mark.parametrize(
    ("sent", "compared"),
    [
        ("Kim@Acme.example", "kim@acme.example"),
        ("  kim@acme.example\n", "kim@acme.example"),
        ("kim+news@acme.example", "kim@acme.example"),
        ("kim+a+b@acme.example", "kim@acme.example"),
        ("+tagonly@acme.example", "+tagonly@acme.example"),
        ("kim+x@acme+y.example", "kim@acme+y.example"),
        ("a@b@c", "a@b@c"),
        ("kim +x@acme.example", "kim +x@acme.example"),
        ("STRASSE", "strasse"),
        ("Straße", "strasse"),
        ("\uff2b\uff29\uff2d", "kim"),  # full-width KIM
        ("+44 7911 123456", "+44 7911 123456"),
    ],
)
def test_normalisation(sent: str, compared: str) -> None:
    assert normalised(sent) == compared


def _reference(text: str) -> str:
    """A slow reference for ASCII text: trim, lower case, a +tag dropped from an address."""
    text = text.strip().lower()
    match = re.fullmatch(r"([^@\s+]+)\+[^@\s]*@([^@\s]+)", text)
    return f"{match.group(1)}@{match.group(2)}" if match else text


ASCII = st.text(alphabet=string.ascii_letters + string.digits + " +@._-\t", max_size=30)


@given(ASCII)
def test_normalisation_matches_the_reference_on_ascii(text: str) -> None:
    assert normalised(text) == _reference(text)


@given(st.text(max_size=40))
def test_normalisation_is_idempotent_and_ignores_case_and_surrounding_space(text: str) -> None:
    once = normalised(text)
    assert normalised(once) == once
    assert normalised(f"  {text}\n") == once
    assert normalised(text.upper().lower()) == normalised(text.lower())


@given(
    st.from_regex(r"[a-z0-9.]{1,10}(\+[a-z0-9]{0,6})?@[a-z0-9]{1,8}\.[a-z]{2,4}", fullmatch=True)
)
def test_tagged_addresses_claim_the_untagged_key(address: str) -> None:
    untagged = re.sub(r"\+[^@]*@", "@", address)
    tagged = claim({"email": address.upper()}, config())
    assert tagged == claim({"email": untagged}, config())
