"""Compiled validation-list matching: lookups whose cost does not grow with the list size.

A `CompiledList` keeps the list values as one NUL-joined string (about one byte per ASCII character)
and builds the lookup structures lazily, per case mode, on first use:

- `equal`, `startswith`, `endswith` use one frozenset per case mode. `startswith` / `endswith` try
  each prefix / suffix of the lead value whose length occurs in the list, so a lookup costs at most
  one set probe per distinct value length.
- `contains` uses an Aho-Corasick automaton (pyahocorasick) per case mode.

Case-insensitive matching means comparing `str.casefold()` forms on both sides (so "STRASSE" equals
"straße"); case-insensitive lookups return the casefolded list value.

Empty list values are dropped: they would make every lead start with, end with and contain them.
"""

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Literal

import ahocorasick

MatchOperator = Literal["equal", "startswith", "endswith", "contains"]

# PostgreSQL text cannot hold NUL, so no stored list value contains it.
_SEP = "\x00"


class _Index:
    """The lookup structures of one case mode."""

    __slots__ = ("automaton", "lengths", "values")

    def __init__(self, values: frozenset[str]) -> None:
        self.values = values
        self.lengths = tuple(sorted({len(v) for v in values}))
        self.automaton: ahocorasick.Automaton | None = None


class CompiledList:
    """An immutable set of list values, matchable by operator and case mode."""

    __slots__ = ("_indexes", "_lock", "_source", "size")

    def __init__(self, values: Iterable[str]) -> None:
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
        if not value:
            return None
        if operator == "equal":
            return value if value in index.values else None
        if operator == "startswith":
            return _first_prefix(value, index)
        if operator == "endswith":
            return _first_suffix(value, index)
        if operator == "contains":
            return _first_substring(value, self._automaton(case_sensitive))
        raise ValueError(f"unknown operator {operator!r}")

    def warm(self, operator: MatchOperator, case_sensitive: bool) -> None:
        """Build the structures `operator` needs now rather than on the first lead."""
        self._index(case_sensitive)
        if operator == "contains":
            self._automaton(case_sensitive)

    def _index(self, case_sensitive: bool) -> _Index:
        index = self._indexes.get(case_sensitive)
        if index is None:
            with self._lock:
                index = self._indexes.get(case_sensitive)
                if index is None:
                    index = _Index(frozenset(self._split(case_sensitive)))
                    self._indexes[case_sensitive] = index
        return index

    def _automaton(self, case_sensitive: bool) -> ahocorasick.Automaton | None:
        index = self._index(case_sensitive)
        if index.automaton is None and index.values:
            with self._lock:
                if index.automaton is None:
                    automaton = ahocorasick.Automaton(ahocorasick.STORE_LENGTH)
                    for v in index.values:
                        automaton.add_word(v)
                    automaton.make_automaton()
                    index.automaton = automaton
        return index.automaton

    def _split(self, case_sensitive: bool) -> list[str]:
        if not self._source:
            return []
        # casefold maps character by character, so folding the joined text folds each value.
        text = self._source if case_sensitive else self._source.casefold()
        return text.split(_SEP)


def _first_prefix(value: str, index: _Index) -> str | None:
    for n in index.lengths:
        if n > len(value):
            break
        prefix = value[:n]
        if prefix in index.values:
            return prefix
    return None


def _first_suffix(value: str, index: _Index) -> str | None:
    for n in index.lengths:
        if n > len(value):
            break
        suffix = value[-n:] if n < len(value) else ""
        if suffix in index.values:
            return suffix
    return None


def _first_substring(value: str, automaton: ahocorasick.Automaton | None) -> str | None:
    if automaton is None:
        return None
    for end, length in automaton.iter(value):
        return value[end - length + 1 : end + 1]
    return None


def compile_list(values: Iterable[str]) -> CompiledList:
    """Compile list values (already trimmed) for matching."""
    return CompiledList(values)


class MatcherCache:
    """A bounded, thread-safe cache of compiled lists keyed by (list_id, version).

    Compiling a version of a list evicts its older versions. Eviction is least recently used,
    bounded both by list count and by the total number of values held.
    """

    def __init__(self, max_lists: int = 64, max_values: int = 5_000_000) -> None:
        self._max_lists = max_lists
        self._max_values = max_values
        self._entries: OrderedDict[tuple[int, int], CompiledList] = OrderedDict()
        self._building: dict[tuple[int, int], threading.Lock] = {}
        self._lock = threading.Lock()

    def get(self, list_id: int, version: int, loader: Callable[[], Iterable[str]]) -> CompiledList:
        """Return the compiled list for this version, compiling it from `loader()` if needed."""
        key = (list_id, version)
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
            compiled = compile_list(loader())
            with self._lock:
                self._store(key, compiled)
                self._building.pop(key, None)
        return compiled

    def discard(self, list_id: int) -> None:
        """Forget every compiled version of a list (e.g. after it is deleted)."""
        with self._lock:
            for key in [k for k in self._entries if k[0] == list_id]:
                del self._entries[key]

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._entries

    def _lookup(self, key: tuple[int, int]) -> CompiledList | None:
        found = self._entries.get(key)
        if found is not None:
            self._entries.move_to_end(key)
        return found

    def _store(self, key: tuple[int, int], compiled: CompiledList) -> None:
        for old in [k for k in self._entries if k[0] == key[0] and k[1] < key[1]]:
            del self._entries[old]
        self._entries[key] = compiled
        held = sum(c.size for c in self._entries.values())
        while len(self._entries) > 1 and (
            len(self._entries) > self._max_lists or held > self._max_values
        ):
            _, evicted = self._entries.popitem(last=False)
            held -= evicted.size
