"""Validation lists: every change is one version, logged so others can sync the delta."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from leadgate.errors import Conflict, InvalidRequest
from leadgate.kit.pagination import Page, decode_cursor
from leadgate.kit.repository import TenantScope
from leadgate.lists import csv_values, hooks
from leadgate.lists.models import ListValue, ListVersion, ValidationList
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
COPY_CHUNK = 20_000

Progress = Callable[[int], None]


def to_out(row: ValidationList) -> ListOut:
    """The API view of a list."""
    return ListOut(id=row.id, name=row.name, version=row.version, value_count=row.value_count)


def get(scope: TenantScope, list_id: int) -> ValidationList:
    """A list of this instance, or 404 list_not_found."""
    return scope.get(ValidationList, list_id, missing="list_not_found", what="validation list")


def list_all(scope: TenantScope) -> Sequence[ValidationList]:
    """Every list of the instance."""
    return scope.session.scalars(scope.select(ValidationList).order_by(ValidationList.id)).all()


def _locked(scope: TenantScope, list_id: int) -> ValidationList:
    """The list row, locked so concurrent changes get consecutive versions."""
    row = scope.session.scalars(
        scope.select(ValidationList).where(ValidationList.id == list_id).with_for_update()
    ).one_or_none()
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
    return row


def patch_values(
    scope: TenantScope, list_id: int, add: Iterable[str], remove: Iterable[str]
) -> ValidationList:
    """Add and remove values in one change (one version; none when nothing changed)."""
    row = _locked(scope, list_id)
    ops = [("+", v) for v in _checked(add)] + [("-", v) for v in _checked(remove)]
    added, removed = _apply(scope.session, row, ops, replace=False)
    if added or removed:
        hooks.values_changed(scope, row.id)
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
    return ImportResult(
        version=row.version,
        value_count=row.value_count,
        added=added,
        removed=removed,
        rejected=parsed.rejected,
    )


def _copy_lines(ops: Iterable[tuple[str, str]]) -> Iterator[str]:
    """COPY text-format lines; values hold no control characters, so only `\\` needs escaping."""
    chunk: list[str] = []
    for op, value in ops:
        chunk.append(f"{op}\t{value.replace(chr(92), chr(92) * 2)}\n")
        if len(chunk) >= COPY_CHUNK:
            yield "".join(chunk)
            chunk = []
    if chunk:
        yield "".join(chunk)


def _apply(
    session: Session,
    row: ValidationList,
    ops: Iterable[tuple[str, str]],
    *,
    replace: bool,
    force_version: bool = False,
) -> tuple[int, int]:
    """Apply (+/-) ops, or make the list exactly the + values (replace), as one version.

    Values go in with COPY to a temporary table; set operations in SQL do the rest, and the
    change log gets the values that really changed.
    """
    conn = session.connection().connection.driver_connection
    assert conn is not None
    with conn.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS _incoming, _applied")
        cur.execute("CREATE TEMP TABLE _incoming (op char(1), value text) ON COMMIT DROP")
        cur.execute("CREATE TEMP TABLE _applied (op char(1), value text) ON COMMIT DROP")
        with cur.copy("COPY _incoming (op, value) FROM STDIN") as copy:
            for block in _copy_lines(ops):
                copy.write(block)
        cur.execute("ANALYZE _incoming")
        params: dict[str, Any] = {"lid": row.id}
        if replace:
            cur.execute(
                """WITH gone AS (
                       DELETE FROM list_values lv WHERE lv.list_id = %(lid)s
                       AND NOT EXISTS (SELECT 1 FROM _incoming i WHERE i.value = lv.value)
                       RETURNING lv.value)
                   INSERT INTO _applied SELECT '-', value FROM gone""",
                params,
            )
        else:
            cur.execute(
                """WITH gone AS (
                       DELETE FROM list_values lv USING (
                           SELECT DISTINCT value FROM _incoming WHERE op = '-') i
                       WHERE lv.list_id = %(lid)s AND lv.value = i.value
                       RETURNING lv.value)
                   INSERT INTO _applied SELECT '-', value FROM gone""",
                params,
            )
        # In index order: a million inserts into the (list_id, value) key in hash order cost
        # twice as much as in key order (bench/bench_import.py).
        cur.execute(
            """WITH added AS (
                   INSERT INTO list_values (list_id, value)
                   SELECT DISTINCT %(lid)s, value FROM _incoming WHERE op = '+' ORDER BY value
                   ON CONFLICT DO NOTHING
                   RETURNING value)
               INSERT INTO _applied SELECT '+', value FROM added""",
            params,
        )
        cur.execute("SELECT op, count(*) FROM _applied GROUP BY op")
        counts = {op: int(n) for op, n in cur.fetchall()}
        added, removed = counts.get("+", 0), counts.get("-", 0)
        if not (added or removed or force_version):
            return 0, 0
        version = row.version + 1
        kind = "reset" if added + removed > RESET_THRESHOLD or force_version else "delta"
        if kind == "delta":
            cur.execute(
                """INSERT INTO list_changes (list_id, version, op, value)
                   SELECT %(lid)s, %(v)s, op, value FROM _applied
                   ORDER BY CASE op WHEN '-' THEN 0 ELSE 1 END, value""",
                {**params, "v": version},
            )
    session.add(
        ListVersion(list_id=row.id, version=version, kind=kind, added=added, removed=removed)
    )
    row.version = version
    row.value_count = row.value_count + added - removed
    session.flush()
    return added, removed


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
    scope.session.delete(row)
    scope.session.flush()


def values_page(
    scope: TenantScope, list_id: int, *, limit: int, cursor: str | None, search: str | None
) -> Page[str]:
    """Values in order, a page at a time (the cursor is the last value seen)."""
    get(scope, list_id)
    query = select(ListValue.value).where(ListValue.list_id == list_id)
    if search:
        query = query.where(ListValue.value.ilike(f"%{_like_escape(search)}%", escape="\\"))
    if cursor:
        query = query.where(ListValue.value > _decode_value_cursor(cursor))
    rows = list(scope.session.scalars(query.order_by(ListValue.value).limit(limit + 1)))
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
    conn = session.connection().connection.driver_connection
    assert conn is not None
    with conn.cursor() as cur:
        cur.execute("SELECT value FROM list_values WHERE list_id = %s", (list_id,))
        return [r[0] for r in cur.fetchall()]


def changes_since(session: Session, row: ValidationList, since: int) -> ListDelta | None:
    """Net changes after version `since`, or None when the log cannot answer (reset, unknown)."""
    if since > row.version or since < 0:
        return None
    if since == row.version:
        return ListDelta(list_version=row.version, mode="delta", added=[], removed=[])
    resets = session.scalar(
        select(ListVersion.version)
        .where(
            ListVersion.list_id == row.id,
            ListVersion.version > since,
            ListVersion.kind == "reset",
        )
        .limit(1)
    )
    known = session.scalar(
        select(ListVersion.version).where(
            ListVersion.list_id == row.id, ListVersion.version == since
        )
    )
    if resets is not None or known is None:
        return None
    rows = session.execute(
        text(
            """SELECT DISTINCT ON (value) value, op FROM list_changes
               WHERE list_id = :lid AND version > :since ORDER BY value, version DESC, id DESC"""
        ),
        {"lid": row.id, "since": since},
    ).all()
    added = [v for v, op in rows if op == "+"]
    removed = [v for v, op in rows if op == "-"]
    return ListDelta(list_version=row.version, mode="delta", added=added, removed=removed)


class ListMoved(Exception):
    """The list changed between reading its version and reading its values."""


def values_at(session: Session, list_id: int, version: int) -> list[str]:
    """The list's values, read in one statement with their version (ListMoved if it moved on).

    One statement sees one snapshot, so a matcher cached under `version` never holds values of
    another version, even while an import commits next door.
    """
    conn = session.connection().connection.driver_connection
    assert conn is not None
    with conn.cursor() as cur:
        cur.execute(
            """SELECT l.version, v.value FROM validation_lists l
               LEFT JOIN list_values v ON v.list_id = l.id WHERE l.id = %s""",
            (list_id,),
        )
        rows = cur.fetchall()
    if not rows or rows[0][0] != version:
        raise ListMoved(list_id)
    return [r[1] for r in rows if r[1] is not None]
