"""Validation lists: every change is one version, logged so others can sync the delta."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy.orm import Session

from leadgate.audit import service as audit
from leadgate.errors import Conflict, InvalidRequest
from leadgate.kit.pagination import Page, decode_cursor
from leadgate.kit.repository import TenantScope
from leadgate.lists import csv_values, hashing, hooks, lengths, repository
from leadgate.lists.hashing import Normalise
from leadgate.lists.lengths import Lengths
from leadgate.lists.matcher import CompiledList, compile_list
from leadgate.lists.models import ListVersion, ValidationList
from leadgate.lists.schemas import (
    MAX_VALUE_LENGTH,
    ImportMode,
    ImportResult,
    ListDelta,
    ListOut,
)

# A version changing more values than this is logged as a `reset`: mirrors older than it
# take a full snapshot instead of a delta bigger than the snapshot's gain.
RESET_THRESHOLD = 10_000

Progress = Callable[[int], None]


def to_out(row: ValidationList) -> ListOut:
    """The API view of a list."""
    return ListOut(
        id=row.id,
        name=row.name,
        version=row.version,
        value_count=row.value_count,
        private=row.private,
        key_id=row.key_id if row.private else None,
    )


def get(scope: TenantScope, list_id: int) -> ValidationList:
    """A list of this instance, or 404 list_not_found."""
    return repository.get(scope, list_id)


def list_all(scope: TenantScope) -> Sequence[ValidationList]:
    """Every list of the instance."""
    return repository.list_all(scope)


def _locked(scope: TenantScope, list_id: int) -> ValidationList:
    """The list row, locked so concurrent changes get consecutive versions."""
    row = repository.locked(scope, list_id)
    if row is None:
        get(scope, list_id)  # raises the 404
    assert row is not None
    return row


def _checked(values: Iterable[str]) -> list[str]:
    out = []
    for i, raw in enumerate(values):
        value, reason = csv_values.clean(raw)
        if reason is not None:
            raise InvalidRequest(f"Value #{i + 1} is {reason}.", code="invalid_value")
        if value is not None:
            out.append(value)
    return out


def create(scope: TenantScope, name: str, values: Iterable[str] = ()) -> ValidationList:
    """A new list (version 1) with its first values."""
    clean = _checked(values)
    row = ValidationList(name=name, version=0, value_count=0)
    scope.add(row)
    scope.session.flush()
    _apply(scope.session, row, [("+", v) for v in clean], replace=False, force_version=True)
    audit.record(scope, "list.created", _audit_target(row), values=row.value_count)
    return row


def _audit_target(row: ValidationList) -> str:
    return f"list {row.id} “{row.name}”"


def patch_values(
    scope: TenantScope, list_id: int, add: Iterable[str], remove: Iterable[str]
) -> ValidationList:
    """Add and remove values in one change (one version; none when nothing changed)."""
    row = _locked(scope, list_id)
    ops = [("+", v) for v in _checked(add)] + [("-", v) for v in _checked(remove)]
    added, removed = _apply(scope.session, row, ops, replace=False)
    if added or removed:
        hooks.values_changed(scope, row.id)
        audit.record(scope, "list.values_changed", _audit_target(row), added=added, removed=removed)
    return row


def import_csv(
    scope: TenantScope,
    list_id: int,
    body: bytes,
    mode: ImportMode,
    *,
    header: str = "auto",
    progress: Progress | None = None,
) -> ImportResult:
    """Import the first column of a CSV: good lines apply as one version, bad ones are reported."""
    text_body = csv_values.decode(body)
    row = _locked(scope, list_id)
    parsed = csv_values.parse(text_body, list_name=row.name, header=header, on_line=progress)
    op = "-" if mode == "remove" else "+"
    added, removed = _apply(
        scope.session, row, ((op, v) for v in parsed.values), replace=mode == "replace"
    )
    if added or removed:
        hooks.values_changed(scope, row.id)
        audit.record(
            scope, "list.imported", _audit_target(row), mode=mode, added=added, removed=removed
        )
    return ImportResult(
        version=row.version,
        value_count=row.value_count,
        added=added,
        removed=removed,
        rejected=parsed.rejected,
    )


def _apply(
    session: Session,
    row: ValidationList,
    ops: Iterable[tuple[str, str]],
    *,
    replace: bool,
    force_version: bool = False,
) -> tuple[int, int]:
    """Apply (+/-) ops, or make the list exactly the + values (replace), as one version.

    The change log gets the values that really changed (a `delta`), or none (a `reset`).
    """
    added, removed = repository.apply_ops(session, row.id, ops, replace=replace)
    if not (added or removed or force_version):
        return 0, 0
    version = row.version + 1
    kind = "reset" if added + removed > RESET_THRESHOLD or force_version else "delta"
    if kind == "delta":
        repository.log_applied(session, row.id, version)
        after = lengths.after_delta(Lengths.of(row.lengths), repository.applied_rows(session))
        row.lengths = after.as_json() if after is not None else None
    else:
        row.lengths = None  # measured again when it is needed
    session.add(
        ListVersion(list_id=row.id, version=version, kind=kind, added=added, removed=removed)
    )
    row.version = version
    row.value_count = row.value_count + added - removed
    session.flush()
    return added, removed


def lengths_of(session: Session, row: ValidationList) -> Lengths:
    """The shortest and longest values (as stored and casefolded), measured if unknown."""
    known = Lengths.of(row.lengths)
    if known is not None:
        return known
    measured = lengths.measure(repository.scan_values(session, row.id))
    repository.store_lengths(session, row.id, row.version, measured.as_json())
    return measured


def _reset_version(session: Session, row: ValidationList) -> None:
    """A new version that changes no value but how values leave the instance: logged as a
    `reset`, so every mirror takes a full snapshot (and drops what it held)."""
    row.version += 1
    session.add(ListVersion(list_id=row.id, version=row.version, kind="reset"))
    session.flush()


def update(
    scope: TenantScope, list_id: int, *, name: str | None = None, private: bool | None = None
) -> ValidationList:
    """Rename a list, or make it private or public (None: unchanged).

    Making it private is refused (422 contains_on_private_list, naming the jobs) while a job
    needs its raw values. Either switch gives it a new version that every mirror re-syncs to:
    a publisher holding raw values of a list made private replaces them with hashes.
    """
    row = _locked(scope, list_id)
    if name is not None and name != row.name:
        before, row.name = row.name, name
        audit.record(scope, "list.renamed", _audit_target(row), before=before)
    if private is not None and private != row.private:
        if private:
            _refuse_raw_value_users(scope, row)
            row.hash_key, row.key_id = hashing.new_key(), hashing.new_key_id()
        else:
            row.hash_key = row.key_id = None
        row.private = private
        _reset_version(scope.session, row)
        hooks.values_changed(scope, row.id)
        audit.record(
            scope, "list.made_private" if private else "list.made_public", _audit_target(row)
        )
    scope.session.flush()
    return row


def _refuse_raw_value_users(scope: TenantScope, row: ValidationList) -> None:
    users = hooks.raw_value_users(scope, row.id)
    if users:
        why = "; ".join(text for _, text in users)
        raise InvalidRequest(
            f"The list {row.name!r} cannot be made private: {why}. A private list's values "
            "never leave this instance, and `contains` cannot be checked without them; change "
            "those jobs to equal, startswith or endswith first.",
            code="contains_on_private_list",
            job_ids=[job_id for job_id, _ in users],
        )


def rotate_key(scope: TenantScope, list_id: int) -> ValidationList:
    """A new key for a private list (422 list_not_private otherwise): every mirror re-syncs
    in full under it, and the old key opens nothing new."""
    row = _locked(scope, list_id)
    if not row.private:
        raise InvalidRequest(
            f"The list {row.name!r} is not private: its values are shared as they are, with no "
            "key to rotate.",
            code="list_not_private",
        )
    row.hash_key, row.key_id = hashing.new_key(), hashing.new_key_id()
    _reset_version(scope.session, row)
    hooks.values_changed(scope, row.id)
    audit.record(scope, "list.key_rotated", _audit_target(row), key_id=row.key_id)
    return row


def hashed_delta(
    session: Session, row: ValidationList, delta: ListDelta, normalise: Normalise
) -> dict[str, Any]:
    """A delta answer of a private list: hashes of the values added, and of the normalised
    forms no value of the list has any more (in casefold mode, removing "ACME" keeps the hash
    of "acme" while "Acme" stays)."""
    assert row.hash_key is not None and row.key_id is not None
    key = hashing.key_bytes(row.hash_key)
    added = sorted(set(hashing.digests(key, normalise, delta.added or [])))
    forms = {normalise.list_value(v) for v in delta.removed or []}
    if normalise.casefold and forms:
        candidates = repository.folding_candidates(
            session, row.id, sorted(f for f in forms if f.isascii()), max(map(len, forms))
        )
        forms -= {v.casefold() for v in candidates}
    removed = sorted(hashing.digest(key, f) for f in forms)
    span = lengths_of(session, row).span(normalise.casefold)
    return {
        "list_version": delta.list_version,
        "mode": "delta",
        "encoding": hashing.encoding(row.key_id, normalise, row.hash_key, span),
        "added": added,
        "removed": removed,
    }


def delete(scope: TenantScope, list_id: int, *, in_use_by: Sequence[int]) -> None:
    """Delete a list that no job uses (409 list_in_use otherwise)."""
    row = _locked(scope, list_id)
    if in_use_by:
        ids = ", ".join(str(j) for j in in_use_by)
        raise Conflict(
            f"The list {row.name!r} is used by Processr job(s) {ids}; remove them first.",
            code="list_in_use",
            job_ids=list(in_use_by),
        )
    audit.record(scope, "list.deleted", _audit_target(row), values=row.value_count)
    scope.session.delete(row)
    scope.session.flush()


def values_page(
    scope: TenantScope, list_id: int, *, limit: int, cursor: str | None, search: str | None
) -> Page[str]:
    """Values in order, a page at a time (the cursor is the last value seen)."""
    get(scope, list_id)
    rows = repository.values_after(
        scope.session,
        list_id,
        after=_decode_value_cursor(cursor) if cursor else None,
        like=f"%{_like_escape(search)}%" if search else None,
        limit=limit + 1,
    )
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = _encode_value_cursor(rows[-1]) if more and rows else None
    return Page[str](items=rows, next_cursor=next_cursor)


def _like_escape(s: str) -> str:
    return s.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _encode_value_cursor(value: str) -> str:
    import base64

    return base64.urlsafe_b64encode(("v:" + value).encode()).decode().rstrip("=")


def _decode_value_cursor(cursor: str) -> str:
    import base64

    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except ValueError as exc:
        raise InvalidRequest("The cursor is not one this server handed out.") from exc
    if not raw.startswith("v:") or len(raw) > MAX_VALUE_LENGTH + 2:
        decode_cursor(cursor)  # raises the same error
    return raw[2:]


def all_values(session: Session, list_id: int) -> list[str]:
    """Every value of a list at once (for compiling matchers)."""
    return repository.all_values(session, list_id)


def changes_since(session: Session, row: ValidationList, since: int) -> ListDelta | None:
    """Net changes after version `since`, or None when the log cannot answer (reset, unknown)."""
    if since > row.version or since < 0:
        return None
    if since == row.version:
        return ListDelta(list_version=row.version, mode="delta", added=[], removed=[])
    if repository.has_reset_after(session, row.id, since) or not repository.has_version(
        session, row.id, since
    ):
        return None
    rows = repository.net_changes_after(session, row.id, since, row.version)
    added = [v for v, op in rows if op == "+"]
    removed = [v for v, op in rows if op == "-"]
    return ListDelta(list_version=row.version, mode="delta", added=added, removed=removed)


class ListMoved(Exception):
    """The list changed between reading its version and reading its values."""


def compiled_at(scope: TenantScope, list_id: int, version: int) -> CompiledList:
    """The list compiled at `version`, its values read in one statement with their version
    (ListMoved if it moved on): a matcher cached under `version` never holds values of another
    version, even while an import commits next door. A private list's matches are not named
    in flags: the publisher that sent the lead reads them."""
    found, private, values = repository.versioned_values(scope, list_id)
    if found != version:
        raise ListMoved(list_id)
    return compile_list(values, reveals_values=not private)
