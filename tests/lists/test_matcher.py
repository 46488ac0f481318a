"""CompiledList and MatcherCache: examples, a property test against a plain scan, caching."""

import random
import threading
from collections.abc import Callable, Iterable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadgate.lists import matcher
from leadgate.lists.matcher import CompiledList, MatcherCache, MatchOperator, compile_list

OPERATORS: list[MatchOperator] = ["equal", "startswith", "endswith", "contains"]

_TESTS: dict[str, Callable[[str, str], bool]] = {
    "equal": lambda lead, v: lead == v,
    "startswith": lambda lead, v: lead.startswith(v),
    "endswith": lambda lead, v: lead.endswith(v),
    "contains": lambda lead, v: v in lead,
}


def reference(values: Iterable[str], lead: str, operator: str, case_sensitive: bool) -> bool:
    """The slow, obviously right answer: scan every value."""

    def fold(s: str) -> str:
        return s if case_sensitive else s.casefold()

    test = _TESTS[operator]
    return any(test(fold(lead), fold(v)) for v in values if v)


@pytest.fixture
def companies() -> CompiledList:
    return compile_list(["Acme", "Globex Corp", "Initech", "acme.com", "Straße"])


@pytest.mark.parametrize(
    ("lead", "operator", "case_sensitive", "expected"),
    [
        ("Acme", "equal", True, "Acme"),
        ("acme", "equal", True, None),
        ("acme", "equal", False, "acme"),
        ("Acme Inc", "equal", False, None),
        ("Acme Inc", "startswith", True, "Acme"),
        ("ACME Inc", "startswith", True, None),
        ("ACME Inc", "startswith", False, "acme"),
        ("The Acme", "startswith", False, None),
        ("mail.acme.com", "endswith", True, "acme.com"),
        ("mail.ACME.COM", "endswith", True, None),
        ("mail.ACME.COM", "endswith", False, "acme.com"),
        ("acme.com.evil", "endswith", False, None),
        ("We are Initech.", "contains", True, "Initech"),
        ("we are INITECH.", "contains", True, None),
        ("we are INITECH.", "contains", False, "initech"),
        ("Init", "contains", False, None),
        ("STRASSE", "equal", False, "strasse"),
        ("STRASSE", "equal", True, None),
    ],
)
def test_operators(
    companies: CompiledList,
    lead: str,
    operator: MatchOperator,
    case_sensitive: bool,
    expected: str | None,
) -> None:
    assert companies.matches(lead, operator, case_sensitive) == expected


@pytest.mark.parametrize("operator", OPERATORS)
@pytest.mark.parametrize("case_sensitive", [True, False])
def test_empty_lead_value_and_empty_list_never_match(
    operator: MatchOperator, case_sensitive: bool
) -> None:
    assert compile_list(["a"]).matches("", operator, case_sensitive) is None
    assert compile_list([]).matches("abc", operator, case_sensitive) is None
    assert compile_list([""]).matches("abc", operator, case_sensitive) is None


def test_value_longer_than_every_list_value_still_matches_by_prefix_and_suffix() -> None:
    compiled = compile_list(["ab", "xyz"])
    assert compiled.matches("ab" + "-" * 500, "startswith", True) == "ab"
    assert compiled.matches("-" * 500 + "xyz", "endswith", True) == "xyz"
    assert compiled.matches("-" * 500 + "xyz" + "-" * 500, "contains", True) == "xyz"


def test_nul_in_a_value_is_rejected() -> None:
    with pytest.raises(ValueError, match="NUL"):
        compile_list(["ok", "bad\x00value"])


def test_size_counts_non_empty_values() -> None:
    assert compile_list(["a", "", "b"]).size == 2


def test_warm_builds_structures_ahead() -> None:
    compiled = compile_list(["abc"])
    compiled.warm("contains", case_sensitive=False)
    assert compiled.matches("xxABCxx", "contains", False) == "abc"


# Letters whose case mapping is irregular: sharp s, dotless/dotted i, final sigma, ligatures,
# titlecase digraphs, micro sign, Kelvin sign, combining dot above.
CASE_EDGES = (
    "aAbBkKsS \u00df\u1e9e \u0131\u0130iI \u03c3\u03c2\u03a3 \ufb03 \u01c5\u01c6\u01c4 "
    "\u00b5\u039c \u212a \u0307.-@"
)
edge_text = st.text(alphabet=CASE_EDGES, max_size=8)
any_text = st.text(max_size=8)
# Stored list values cannot contain NUL (PostgreSQL text); lead values can.
value_text = st.text(alphabet=st.characters(exclude_characters="\x00"), max_size=8)
list_values = st.lists(st.one_of(edge_text, value_text), max_size=12)


@settings(max_examples=300)
@given(values=list_values, data=st.data())
def test_matches_agrees_with_a_plain_scan(values: list[str], data: st.DataObject) -> None:
    compiled = compile_list(values)
    non_empty = [v for v in values if v]
    around = st.one_of(edge_text, any_text)
    wants_hit = data.draw(st.booleans())
    if non_empty and wants_hit:
        lead = data.draw(around) + data.draw(st.sampled_from(non_empty)) + data.draw(around)
        if data.draw(st.booleans()):
            lead = data.draw(st.sampled_from([lead.upper(), lead.lower(), lead.swapcase()]))
    else:
        lead = data.draw(around)
    for operator in OPERATORS:
        for case_sensitive in (True, False):
            found = compiled.matches(lead, operator, case_sensitive)
            expected = reference(values, lead, operator, case_sensitive)
            assert (found is not None) == expected, (operator, case_sensitive)
            if found is not None:
                folded = lead if case_sensitive else lead.casefold()
                assert reference([found], folded, operator, True)
                assert reference(values, found, "equal", case_sensitive)


def test_cache_compiles_each_version_once_and_drops_old_versions() -> None:
    cache = MatcherCache()
    calls: list[int] = []

    def loader(version: int) -> Callable[[], list[str]]:
        def load() -> list[str]:
            calls.append(version)
            return [f"v{version}"]

        return load

    first = cache.get(1, 1, loader(1))
    assert cache.get(1, 1, loader(1)) is first
    second = cache.get(1, 2, loader(2))
    assert second.matches("v2", "equal", True) == "v2"
    assert calls == [1, 2]
    assert (1, 1) not in cache
    assert (1, 2) in cache


def test_cache_evicts_least_recently_used_by_count_and_by_values() -> None:
    cache = MatcherCache(max_lists=2, max_values=5)
    cache.get(1, 1, lambda: ["a"])
    cache.get(2, 1, lambda: ["b"])
    cache.get(1, 1, lambda: pytest.fail("list 1 should be cached"))
    cache.get(3, 1, lambda: ["c"])
    assert (2, 1) not in cache
    assert (1, 1) in cache
    cache.get(4, 1, lambda: ["d", "e", "f", "g", "h"])
    assert len(cache) == 1
    cache.discard(4)
    assert len(cache) == 0


def test_cache_compiles_once_under_concurrent_requests() -> None:
    cache = MatcherCache()
    calls: list[int] = []
    gate = threading.Barrier(8)

    def load() -> list[str]:
        calls.append(1)
        return ["x"]

    def worker() -> None:
        gate.wait()
        cache.get(7, 3, load)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert calls == [1]


def test_anchors_ending_at_the_same_place_are_all_considered() -> None:
    compiled = compile_list(["abcdef", "cdef", "ef", "zab"])
    assert compiled.matches("xxabcdef", "endswith", True) in {"abcdef", "cdef", "ef"}
    assert compiled.matches("xxcdef", "endswith", True) in {"cdef", "ef"}
    assert compiled.matches("abcdefgh", "startswith", True) == "abcdef"
    assert compiled.matches("--zab--", "contains", True) == "zab"
    assert compiled.matches("--abcde--", "contains", True) is None
    assert compiled.matches("abcde", "startswith", True) is None


@pytest.mark.parametrize("max_anchors", [1, 30, 10_000])
def test_shorter_anchors_when_there_are_too_many(
    monkeypatch: pytest.MonkeyPatch, max_anchors: int
) -> None:
    monkeypatch.setattr(matcher, "_MAX_ANCHORS", max_anchors)
    rng = random.Random(max_anchors)
    alphabet = "abcAB1 -"
    values = ["".join(rng.choices(alphabet, k=rng.randint(1, 9))) for _ in range(300)]
    leads = ["".join(rng.choices(alphabet, k=rng.randint(0, 20))) for _ in range(300)]
    compiled = compile_list(values)
    for lead in leads:
        for operator in OPERATORS:
            for case_sensitive in (True, False):
                found = compiled.matches(lead, operator, case_sensitive)
                expected = reference(values, lead, operator, case_sensitive)
                assert (found is not None) == expected, (lead, operator, case_sensitive)


def test_cache_recovers_from_a_failing_loader() -> None:
    cache = MatcherCache()

    def broken() -> list[str]:
        raise RuntimeError("database went away")

    with pytest.raises(RuntimeError):
        cache.get(1, 1, broken)
    assert cache.get(1, 1, lambda: ["ok"]).matches("ok", "equal", True) == "ok"
