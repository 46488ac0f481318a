"""A private list's hashes judge exactly as its values: HashedList against CompiledList through
the Validation List job, for every operator a private list allows, both case modes, trim on/off."""

from __future__ import annotations

import hmac
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadgate.jobs.validation_list import ValidationListConfig, ValidationListJob
from leadgate.lists import hashing
from leadgate.lists.hashing import Normalise
from leadgate.lists.lengths import Lengths, after_delta, measure
from leadgate.lists.matcher import HashedList, ListMatcher, compile_list
from leadgate.processr.plugin import Claim, Earlier, Origin, Unprobed

KEY = hashing.new_key()

# Small alphabets make matches (and casefold collisions such as ß / SS, K / Kelvin sign) common.
letters = st.sampled_from([*"abAB.@-ßSsKk\u212a ", "ﬃ", "ΐ"])
stored = st.text(letters, min_size=1, max_size=6).map(str.strip).filter(bool)


class _One:
    """A JobContext of one list."""

    def __init__(self, matcher: ListMatcher) -> None:
        self.matcher = matcher

    def compiled_list(self, list_id: int) -> ListMatcher | None:
        return self.matcher

    def list_name(self, list_id: int) -> str:
        return "Suppressed"

    @property
    def origin(self) -> Origin | None:
        return None

    def earlier(self, claim: Claim) -> Earlier | None:
        raise Unprobed(claim.scope_ref)


def hashed(values: list[str], normalise: Normalise) -> HashedList:
    """What a mirror holds of a private list: the client's hashes, key and value lengths."""
    key = hashing.key_bytes(KEY)
    digests = list(hashing.digests(key, normalise, values))
    return HashedList(digests, key, normalise, measure(values).span(normalise.casefold))


@settings(max_examples=300, deadline=None)
@given(
    values=st.lists(stored, max_size=12),
    leads=st.lists(st.text(letters, max_size=10), min_size=1, max_size=8),
    operator=st.sampled_from(["equal", "startswith", "endswith"]),
    case_sensitive=st.booleans(),
    trim=st.booleans(),
    rule=st.sampled_from(["pass", "fail"]),
)
def test_private_and_public_judge_alike(
    values: list[str],
    leads: list[str],
    operator: Any,
    case_sensitive: bool,
    trim: bool,
    rule: Any,
) -> None:
    config = ValidationListConfig(
        list_id=1,
        field_name="email",
        operator=operator,
        rule=rule,
        case_sensitive=case_sensitive,
        trim=trim,
    )
    public = _One(compile_list(values))
    private = _One(hashed(values, Normalise(trim=trim, casefold=not case_sensitive)))
    job = ValidationListJob()
    for lead in leads:
        a = job.run({"email": lead}, config, public)
        b = job.run({"email": lead}, config, private)
        assert a.passed == b.passed, (lead, values)
        assert [f.code for f in a.flags] == [f.code for f in b.flags]


def test_a_flag_names_the_rule_never_the_matched_value() -> None:
    config = ValidationListConfig(
        list_id=1, field_name="email", operator="endswith", rule="fail", case_sensitive=False
    )
    private = _One(hashed(["rival.example"], Normalise(trim=True, casefold=True)))
    result = ValidationListJob().run({"email": "kim@Rival.example"}, config, private)
    assert not result.passed
    (flag,) = result.flags
    assert flag.code == "validation_list.match"
    assert flag.message == (
        "The lead value ends with a value on the suppression list Suppressed on the field email"
    )
    assert "rival" not in flag.message.lower()


def test_a_hashed_list_refuses_contains() -> None:
    with pytest.raises(ValueError, match="contains"):
        hashed(["ab"], Normalise(trim=True, casefold=True)).matches("xaby", "contains", False)


@given(key=st.binary(max_size=100), message=st.binary(max_size=200))
def test_the_hasher_is_hmac_sha256(key: bytes, message: bytes) -> None:
    assert hashing.Hasher(key).digest(message) == hmac.digest(key, message, "sha256")


def test_hashes_are_keyed_and_normalised() -> None:
    key = hashing.key_bytes(KEY)
    other = hashing.key_bytes(hashing.new_key())
    fold = Normalise(trim=True, casefold=True)
    assert hashing.digest(key, "acme") != hashing.digest(other, "acme")
    assert list(hashing.digests(key, fold, ["ACME", "Straße"])) == [
        hashing.digest(key, "acme"),
        hashing.digest(key, "strasse"),
    ]
    assert fold.lead_value("  STRASSE ") == "strasse"
    assert Normalise(trim=False, casefold=False).lead_value(" A ") == " A "
    assert Normalise.of({"trim": True, "casefold": False}) == Normalise(True, False)
    with pytest.raises(ValueError):
        Normalise.of({"trim": "yes"})


@given(
    before=st.lists(stored, max_size=10),
    changes=st.lists(st.tuples(st.sampled_from("+-"), stored), max_size=6),
)
def test_lengths_after_a_delta_are_measured_ones_or_unknown(
    before: list[str], changes: list[tuple[str, str]]
) -> None:
    values = set(before)
    applied = []
    for op, value in changes:  # what apply_ops reports: values that really changed
        if op == "+" and value not in values:
            values.add(value)
            applied.append((op, value))
        elif op == "-" and value in values:
            values.remove(value)
            applied.append((op, value))
    after = after_delta(measure(set(before)), applied)
    assert after is None or after == measure(values)


@given(values=st.lists(stored, max_size=12), chunk=st.integers(1, 5))
def test_measured_lengths_are_the_shortest_and_longest(values: list[str], chunk: int) -> None:
    measured = measure(values, chunk=chunk)
    if not values:
        assert measured == Lengths(None, None)
        return
    folded = [v.casefold() for v in values]
    assert measured.raw == (min(map(len, values)), max(map(len, values)))
    assert measured.folded == (min(map(len, folded)), max(map(len, folded)))
