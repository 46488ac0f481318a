"""Compiled validation-list matching: lookups whose cost does not grow with the list size.

A `CompiledList` keeps the list values as one NUL-joined string (about one byte per ASCII character)
and builds the lookup structures lazily, per case mode, on first use:

- `equal` probes a frozenset of the values.
- `startswith`, `endswith` and `contains` first find candidates with two small Aho-Corasick automata
  (pyahocorasick) over the *anchors* of the values: their first 4 characters ("heads") and last 4
  ("tails"), each anchor carrying a bit mask of the lengths of the values it begins or ends. One
  pass over the lead value yields where list values could begin and end; only candidates whose
  length is in both anchors' masks are probed in the set. A lead costs one or two automaton passes
  plus a few probes, whatever the list size.

Why not simpler: on 1M distinct company names, one automaton over the full values took ~580 MB and
~12 s to build (the anchor automata: ~1 MB, ~1 s); probing every prefix / suffix of the lead in the
set costs one probe per distinct value length (~12 us for a 45-character lead, ~25 us at p99, versus
~2 us here). The weak spot is high-entropy values (random ids) with `contains`: nearly every
position of a lead is an anchor, so a lookup degrades towards (lead length)^2 cheap checks
(~0.2-0.3 ms for a 60-character lead on 1M random ids).

Case-insensitive matching means comparing `str.casefold()` forms on both sides (so "STRASSE" equals
"straße"); case-insensitive lookups return the casefolded list value.

Empty list values are dropped: they would make every lead start with, end with and contain them.

A `HashedList` is the publisher's copy of a client's *private* list: keyed hashes only
(`lists.hashing`). It answers the same questions by hashing the lead value (`equal`), or each of
its prefixes / suffixes up to the longest list value (`startswith` / `endswith`), and looking
the hashes up; `contains` cannot be answered without the values and is never asked of it.
"""

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Literal, Protocol

import ahocorasick

from leadgate.kit.memory import settle
from leadgate.lists.hashing import Hasher, Normalise

MatchOperator = Literal["equal", "startswith", "endswith", "contains"]

# PostgreSQL text cannot hold NUL, so no stored list value contains it.
_SEP = "\x00"
# Longer anchors are more selective but more numerous. 4 characters give a few thousand anchors
# for 1M company names or domains; high-entropy values (random ids) would give ~800k, so past
# _MAX_ANCHORS a shorter anchor is used, which bounds an automaton at ~10 MB.
_ANCHOR_SIZES = (4, 3, 2, 1)
_MAX_ANCHORS = 100_000


class _Index:
    """The lookup structures of one case mode; the anchor automata are built on first use."""

    __slots__ = ("heads", "tails", "values")

    def __init__(self, values: frozenset[str]) -> None:
        self.values = values
        self.heads: ahocorasick.Automaton | None = None
        self.tails: ahocorasick.Automaton | None = None


class ListMatcher(Protocol):
    """What judging asks of a list: a match, and whether the matched value may be shown."""

    @property
    def size(self) -> int:
        """How many values (or hashes) it holds."""
        ...

    @property
    def reveals_values(self) -> bool:
        """Whether `matches` answers a list value a flag may name (False: hashes only)."""
        ...

    def matches(self, value: str, operator: MatchOperator, case_sensitive: bool) -> str | None:
        """A list value (or the matched part of `value`) that `value` matches, or None."""
        ...

    def warm(self, operator: MatchOperator, case_sensitive: bool) -> None:
        """Build what `operator` needs now rather than on the first lead."""
        ...


class CompiledList:
    """An immutable set of list values, matchable by operator and case mode."""

    __slots__ = ("_indexes", "_lock", "_source", "reveals_values", "size")

    def __init__(self, values: Iterable[str], *, reveals_values: bool = True) -> None:
        # False for the client's own copy of a private list: its flags, which the publisher
        # that sent the lead reads, must not name the list value that matched.
        self.reveals_values = reveals_values
        kept = [v for v in values if v]
        source = _SEP.join(kept)
        if kept and source.count(_SEP) != len(kept) - 1:
            raise ValueError("list values must not contain the NUL character")
        self._source = source
        self.size = len(kept)
        self._indexes: dict[bool, _Index] = {}
        self._lock = threading.Lock()

    def matches(self, value: str, operator: MatchOperator, case_sensitive: bool) -> str | None:
        """Return a list value that `value` matches under `operator`, or None."""
        index = self._index(case_sensitive)
        if not case_sensitive:
            value = value.casefold()
        if not value or not index.values:
            return None
        if operator == "equal":
            return value if value in index.values else None
        if operator == "startswith":
            return _first_prefix(value, index.values, self._tails(index))
        if operator == "endswith":
            return _first_suffix(value, index.values, self._heads(index))
        if operator == "contains":
            return _first_substring(value, index.values, self._heads(index), self._tails(index))
        raise ValueError(f"unknown operator {operator!r}")

    def warm(self, operator: MatchOperator, case_sensitive: bool) -> None:
        """Build the structures `operator` needs now rather than on the first lead."""
        index = self._index(case_sensitive)
        if operator in ("endswith", "contains"):
            self._heads(index)
        if operator in ("startswith", "contains"):
            self._tails(index)

    def _index(self, case_sensitive: bool) -> _Index:
        index = self._indexes.get(case_sensitive)
        if index is None:
            with self._lock:
                index = self._indexes.get(case_sensitive)
                if index is None:
                    index = _Index(frozenset(self._split(case_sensitive)))
                    self._indexes[case_sensitive] = index
                    settle()  # a set of 1M values outlives many full collections: spare it
        return index

    def _heads(self, index: _Index) -> ahocorasick.Automaton:
        if index.heads is None:
            with self._lock:
                if index.heads is None:
                    index.heads = _anchor_automaton(index.values, head=True)
        return index.heads

    def _tails(self, index: _Index) -> ahocorasick.Automaton:
        if index.tails is None:
            with self._lock:
                if index.tails is None:
                    index.tails = _anchor_automaton(index.values, head=False)
        return index.tails

    def _split(self, case_sensitive: bool) -> list[str]:
        if not self._source:
            return []
        # casefold maps character by character, so folding the joined text folds each value.
        text = self._source if case_sensitive else self._source.casefold()
        return text.split(_SEP)


def _anchor_automaton(values: frozenset[str], head: bool) -> ahocorasick.Automaton:
    """An automaton of the values' heads (or tails), each mapped to a packed int.

    Packing: bit 3 + n is set when a value of length n has this anchor; the low 3 bits hold the
    anchor's own length. One int per anchor keeps the automaton small.
    """
    for size in _ANCHOR_SIZES:
        cut = slice(None, size) if head else slice(-size, None)
        masks = _anchor_masks(values, cut, _MAX_ANCHORS if size > 1 else None)
        if masks is not None:
            break
    assert masks is not None  # the last size has no limit
    shared: dict[int, int] = {}
    automaton = ahocorasick.Automaton(ahocorasick.STORE_ANY)
    for anchor, mask in masks.items():
        packed = mask << 3 | len(anchor)
        automaton.add_word(anchor, shared.setdefault(packed, packed))
    automaton.make_automaton()
    return automaton


def _anchor_masks(values: frozenset[str], cut: slice, limit: int | None) -> dict[str, int] | None:
    """Anchor -> bit mask of the lengths of its values; None once there are more than `limit`."""
    masks: dict[str, int] = {}
    for v in values:
        anchor = v[cut]
        masks[anchor] = masks.get(anchor, 0) | 1 << len(v)
        if limit is not None and len(masks) > limit:
            return None
    return masks


def _first_prefix(value: str, values: frozenset[str], tails: ahocorasick.Automaton) -> str | None:
    # A value that is a prefix of `value` ends where one of its tails ends, at its own length.
    for end, packed in tails.iter(value):
        n = end + 1
        if packed >> (n + 3) & 1 and value[:n] in values:
            return value[:n]
    return None


def _first_suffix(value: str, values: frozenset[str], heads: ahocorasick.Automaton) -> str | None:
    for end, packed in heads.iter(value):
        start = end - (packed & 7) + 1
        if packed >> (len(value) - start + 3) & 1 and value[start:] in values:
            return value[start:]
    return None


def _first_substring(
    value: str, values: frozenset[str], heads: ahocorasick.Automaton, tails: ahocorasick.Automaton
) -> str | None:
    # A value occurring in `value` has a head where it starts and a tail where it ends, and its
    # length is set in both anchors' masks: only such (start, end) pairs are probed.
    ends = list(tails.iter(value))
    if not ends:
        return None
    for head_end, head_packed in heads.iter(value):
        start = head_end - (head_packed & 7) + 1
        for end, tail_packed in ends:
            n = end - start + 1
            if (
                n > 0
                and (head_packed & tail_packed) >> (n + 3) & 1
                and value[start : end + 1] in values
            ):
                return value[start : end + 1]
    return None


def compile_list(values: Iterable[str], *, reveals_values: bool = True) -> CompiledList:
    """Compile list values (already trimmed) for matching."""
    return CompiledList(values, reveals_values=reveals_values)


class HashedList:
    """The keyed hashes of a private list, matchable like its values by `equal`, `startswith`
    and `endswith`: the prefixes / suffixes of the lead value as long as the list's shortest
    to its longest value (`span`, in characters of the normalised values)."""

    __slots__ = ("_digests", "_hasher", "max_length", "min_length", "normalise", "size")
    reveals_values = False

    def __init__(
        self,
        hex_digests: Iterable[str],
        key: bytes,
        normalise: Normalise,
        span: tuple[int, int],
    ) -> None:
        self._digests = frozenset(bytes.fromhex(d) for d in hex_digests)
        self._hasher = Hasher(key)
        self.normalise = normalise
        self.min_length, self.max_length = max(span[0], 1), span[1]
        self.size = len(self._digests)

    def _hit(self, part: str) -> bool:
        return self._hasher.digest(part.encode()) in self._digests

    def matches(self, value: str, operator: MatchOperator, case_sensitive: bool) -> str | None:
        """The matched part of the (normalised) lead value, or None.

        The case mode is the one the hashes were made with (`normalise`), which the mirror
        keeps in step with the client's job; `value` is the lead value after the job's trim.
        """
        if self.normalise.casefold:
            value = value.casefold()
        if not value or not self._digests:
            return None
        if operator == "equal":
            return value if self._hit(value) else None
        if operator not in ("startswith", "endswith"):
            raise ValueError(f"a private list cannot answer {operator!r}")
        lengths = range(self.min_length, min(len(value), self.max_length) + 1)
        head = operator == "startswith"
        digest, digests = self._hasher.digest, self._digests  # one call per prefix / suffix
        if value.isascii():
            # Most e-mail addresses and domains: encoded once, cut as bytes (one per character).
            raw = value.encode()
            for n in lengths:
                part = raw[:n] if head else raw[-n:]
                if digest(part) in digests:
                    return part.decode()
            return None
        for n in lengths:
            cut = value[:n] if head else value[-n:]
            if digest(cut.encode()) in digests:
                return cut
        return None

    def warm(self, operator: MatchOperator, case_sensitive: bool) -> None:
        """Nothing to build: the set of hashes is the index."""


CacheKey = tuple[int, int, str]


class MatcherCache:
    """A bounded, thread-safe cache of compiled lists keyed by (list_id, version, variant).

    Compiling a version of a list evicts its older versions and its other variants (a mirror
    whose hashes were made another way at the same version). Eviction is least recently used,
    bounded both by list count and by the total number of values held.
    """

    def __init__(self, max_lists: int = 64, max_values: int = 5_000_000) -> None:
        self._max_lists = max_lists
        self._max_values = max_values
        self._entries: OrderedDict[CacheKey, ListMatcher] = OrderedDict()
        self._building: dict[CacheKey, threading.Lock] = {}
        self._lock = threading.Lock()

    def get(
        self,
        list_id: int,
        version: int,
        loader: Callable[[], Iterable[str]],
        *,
        variant: str = "",
        compiler: Callable[[Iterable[str]], ListMatcher] = compile_list,
    ) -> ListMatcher:
        """Return the compiled list for this version, compiling `loader()` if needed."""
        return self.get_built(list_id, version, lambda: compiler(loader()), variant=variant)

    def get_built(
        self, list_id: int, version: int, build: Callable[[], ListMatcher], *, variant: str = ""
    ) -> ListMatcher:
        """Return the compiled list for this version, from `build()` if it is not cached."""
        key = (list_id, version, variant)
        with self._lock:
            found = self._lookup(key)
            if found is not None:
                return found
            build_lock = self._building.setdefault(key, threading.Lock())
        # One thread compiles a given version while lookups of other lists carry on.
        with build_lock:
            with self._lock:
                found = self._lookup(key)
            if found is not None:
                return found
            try:
                compiled = build()
                with self._lock:
                    self._store(key, compiled)
            finally:
                with self._lock:
                    self._building.pop(key, None)
        return compiled

    def peek(self, list_id: int, version: int, variant: str = "") -> ListMatcher | None:
        """The compiled list for this version if it is cached; never compiles."""
        with self._lock:
            return self._lookup((list_id, version, variant))

    def discard(self, list_id: int) -> None:
        """Forget every compiled version of a list (e.g. after it is deleted)."""
        with self._lock:
            for key in [k for k in self._entries if k[0] == list_id]:
                del self._entries[key]

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def __contains__(self, key: object) -> bool:
        if isinstance(key, tuple) and len(key) == 2:
            key = (*key, "")
        with self._lock:
            return key in self._entries

    def _lookup(self, key: CacheKey) -> ListMatcher | None:
        found = self._entries.get(key)
        if found is not None:
            self._entries.move_to_end(key)
        return found

    def _store(self, key: CacheKey, compiled: ListMatcher) -> None:
        for old in [
            k
            for k in self._entries
            if k[0] == key[0] and (k[1] < key[1] or (k[1] == key[1] and k[2] != key[2]))
        ]:
            del self._entries[old]
        self._entries[key] = compiled
        held = sum(c.size for c in self._entries.values())
        while len(self._entries) > 1 and (
            len(self._entries) > self._max_lists or held > self._max_values
        ):
            _, evicted = self._entries.popitem(last=False)
            held -= evicted.size
