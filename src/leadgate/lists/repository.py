"""Queries on validation lists, their values, versions and change log.

Lists are read through the instance's scope. Values, versions and changes belong to a list and
are read by its id, which the caller found in its instance first; `snapshot_version_any_instance`
is the one lookup by a bare id, for a snapshot streamed outside the request's session.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, Row, select, text, update
from sqlalchemy.orm import Session

from leadgate.kit.repository import TenantScope
from leadgate.lists.models import ListValue, ListVersion, ValidationList

COPY_CHUNK = 20_000

# A PostgreSQL regular expression: the value has a character outside ASCII.
NON_ASCII = r"[^\x01-\x7f]"


def get(scope: TenantScope, list_id: int) -> ValidationList:
    """A list of this instance, or NotFound list_not_found."""
    return scope.get(ValidationList, list_id, missing="list_not_found", what="validation list")


def find(scope: TenantScope, list_id: int) -> ValidationList | None:
    """A list of this instance, or None."""
    return scope.session.scalars(
        scope.select(ValidationList).where(ValidationList.id == list_id)
    ).one_or_none()


def refreshed(scope: TenantScope, list_id: int) -> ValidationList | None:
    """A list of this instance re-read from the database (not the session's copy), or None."""
    return scope.session.scalars(
        scope.select(ValidationList)
        .where(ValidationList.id == list_id)
        .execution_options(populate_existing=True)
    ).one_or_none()


def locked(scope: TenantScope, list_id: int) -> ValidationList | None:
    """A list of this instance, locked FOR UPDATE, or None."""
    return scope.session.scalars(
        scope.select(ValidationList).where(ValidationList.id == list_id).with_for_update()
    ).one_or_none()


def shared_lock(scope: TenantScope, list_id: int) -> ValidationList | None:
    """A list of this instance, locked FOR SHARE (a job saved over it sees whether it is
    private, and the list cannot turn private until the job's transaction ends), or None."""
    return scope.session.scalars(
        scope.select(ValidationList)
        .where(ValidationList.id == list_id)
        .with_for_update(read=True)
        .execution_options(populate_existing=True)
    ).one_or_none()


def list_all(scope: TenantScope) -> Sequence[ValidationList]:
    """Every list of the instance, by id."""
    return scope.session.scalars(scope.select(ValidationList).order_by(ValidationList.id)).all()


def version_of(scope: TenantScope, list_id: int) -> int | None:
    """The current version of a list of this instance, or None."""
    return scope.session.scalar(
        select(ValidationList.version).where(
            ValidationList.id == list_id, ValidationList.instance_id == scope.instance_id
        )
    )


def names_and_versions(scope: TenantScope, list_ids: Collection[int]) -> dict[int, tuple[str, int]]:
    """Id -> (name, version) of those of these lists that the instance has."""
    rows = scope.session.execute(
        select(ValidationList.id, ValidationList.name, ValidationList.version).where(
            ValidationList.instance_id == scope.instance_id, ValidationList.id.in_(list_ids)
        )
    ).all()
    return {r[0]: (r[1], r[2]) for r in rows}


def versioned_values(scope: TenantScope, list_id: int) -> tuple[int | None, bool, list[str]]:
    """A list's version, privacy and values read in one statement (one snapshot);
    (None, False, []) if gone."""
    conn = scope.session.connection().connection.driver_connection
    assert conn is not None
    with conn.cursor() as cur:
        cur.execute(
            """SELECT l.version, l.private, v.value FROM validation_lists l
               LEFT JOIN list_values v ON v.list_id = l.id
               WHERE l.id = %s AND l.instance_id = %s""",
            (list_id, scope.instance_id),
        )
        rows = cur.fetchall()
    if not rows:
        return None, False, []
    return rows[0][0], bool(rows[0][1]), [r[2] for r in rows if r[2] is not None]


def all_values(session: Session, list_id: int) -> list[str]:
    """Every value of a list at once, unordered."""
    conn = session.connection().connection.driver_connection
    assert conn is not None
    with conn.cursor() as cur:
        cur.execute("SELECT value FROM list_values WHERE list_id = %s", (list_id,))
        return [r[0] for r in cur.fetchall()]


def values_after(
    session: Session, list_id: int, *, after: str | None, like: str | None, limit: int
) -> list[str]:
    """Up to `limit` values in order after `after`, matching the escaped LIKE pattern `like`."""
    query = select(ListValue.value).where(ListValue.list_id == list_id)
    if like:
        query = query.where(ListValue.value.ilike(like, escape="\\"))
    if after:
        query = query.where(ListValue.value > after)
    return list(session.scalars(query.order_by(ListValue.value).limit(limit)))


def has_reset_after(session: Session, list_id: int, since: int) -> bool:
    """Whether a `reset` version came after version `since`."""
    found = session.scalar(
        select(ListVersion.version)
        .where(
            ListVersion.list_id == list_id,
            ListVersion.version > since,
            ListVersion.kind == "reset",
        )
        .limit(1)
    )
    return found is not None


def has_version(session: Session, list_id: int, version: int) -> bool:
    """Whether the list's version log holds this version."""
    found = session.scalar(
        select(ListVersion.version).where(
            ListVersion.list_id == list_id, ListVersion.version == version
        )
    )
    return found is not None


def net_changes_after(
    session: Session, list_id: int, since: int, upto: int
) -> list[tuple[str, str]]:
    """(value, op) of each value changed after version `since` up to `upto`, its last change
    only (never a change of a later version: it may belong to a list made private since)."""
    rows = session.execute(
        text(
            """SELECT DISTINCT ON (value) value, op FROM list_changes
               WHERE list_id = :lid AND version > :since AND version <= :upto
               ORDER BY value, version DESC, id DESC"""
        ),
        {"lid": list_id, "since": since, "upto": upto},
    ).all()
    return [(value, op) for value, op in rows]


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


def apply_ops(
    session: Session, list_id: int, ops: Iterable[tuple[str, str]], *, replace: bool
) -> tuple[int, int]:
    """Apply (+/-) ops, or make the list exactly the + values (replace); (added, removed).

    Values go in with COPY to a temporary table; set operations in SQL do the rest. The values
    that really changed stay in the temporary table `_applied` until the transaction ends, for
    `log_applied`.
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
        params: dict[str, Any] = {"lid": list_id}
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
    return counts.get("+", 0), counts.get("-", 0)


def log_applied(session: Session, list_id: int, version: int) -> None:
    """Log the values the last `apply_ops` changed as the delta of `version`."""
    conn = session.connection().connection.driver_connection
    assert conn is not None
    with conn.cursor() as cur:
        cur.execute(
            """INSERT INTO list_changes (list_id, version, op, value)
               SELECT %(lid)s, %(v)s, op, value FROM _applied
               ORDER BY CASE op WHEN '-' THEN 0 ELSE 1 END, value""",
            {"lid": list_id, "v": version},
        )


def snapshot_version_any_instance(conn: Connection, list_id: int) -> int | None:
    """The version of the list with this id in any instance (the caller found it in its own)."""
    return conn.scalar(select(ValidationList.version).where(ValidationList.id == list_id))


def snapshot_values(conn: Connection, list_id: int, batch: int) -> Iterator[list[str]]:
    """A list's values in order, `batch` at a time, from a server-side cursor of the driver."""
    driver = conn.connection.driver_connection
    assert driver is not None
    with driver.cursor(name="list_snapshot") as cur:
        cur.execute("SELECT value FROM list_values WHERE list_id = %s ORDER BY value", (list_id,))
        while rows := cur.fetchmany(batch):
            yield [r[0] for r in rows]


def applied_rows(session: Session) -> list[tuple[str, str]]:
    """(op, value) of what the last `apply_ops` changed (its temporary table `_applied`)."""
    conn = session.connection().connection.driver_connection
    assert conn is not None
    with conn.cursor() as cur:
        cur.execute("SELECT op, value FROM _applied")
        return [(op, value) for op, value in cur.fetchall()]


def scan_values(session: Session, list_id: int, batch: int = 20_000) -> Iterator[str]:
    """Every value of a list, unordered, from a server-side cursor (`batch` rows per fetch)."""
    conn = session.connection().connection.driver_connection
    assert conn is not None
    with conn.cursor(name="list_scan") as cur:
        cur.execute("SELECT value FROM list_values WHERE list_id = %s", (list_id,))
        while rows := cur.fetchmany(batch):
            yield from (r[0] for r in rows)


def store_lengths(session: Session, list_id: int, version: int, lengths: dict[str, Any]) -> None:
    """Record the lengths measured at `version`, unless the list moved on since or another
    request recorded them first (the WHERE is re-checked after a concurrent change)."""
    session.execute(
        update(ValidationList)
        .where(
            ValidationList.id == list_id,
            ValidationList.version == version,
            ValidationList.lengths.is_(None),
        )
        .values(lengths=lengths)
        .execution_options(synchronize_session=False)
    )


def folding_candidates(
    session: Session, list_id: int, ascii_forms: list[str], max_length: int
) -> list[str]:
    """Every value that could casefold to one of some forms: the ASCII values whose ASCII
    lower case is one of `ascii_forms`, and the values with other characters no longer than
    `max_length` (casefolding never shortens a value). The caller casefolds them to decide."""
    conn = session.connection().connection.driver_connection
    assert conn is not None
    with conn.cursor() as cur:
        cur.execute(
            """SELECT value FROM list_values WHERE list_id = %s AND (
                   lower(value COLLATE "C") = ANY(%s)
                   OR (value ~ %s AND length(value) <= %s))""",
            (list_id, ascii_forms, NON_ASCII, max_length),
        )
        return [r[0] for r in cur.fetchall()]


def snapshot_key_any_instance(
    conn: Connection, list_id: int
) -> Row[int, str | None, str | None] | None:
    """The version, key and key id of the list with this id in any instance (the caller found
    it in its own), read in the snapshot its values are streamed from."""
    return conn.execute(
        select(ValidationList.version, ValidationList.hash_key, ValidationList.key_id).where(
            ValidationList.id == list_id
        )
    ).one_or_none()


def keyed_any_instance(session: Session) -> Sequence[ValidationList]:
    """Cross-instance (re-sealing every stored secret): private lists holding a hash key."""
    return session.scalars(select(ValidationList).where(ValidationList.hash_key.is_not(None))).all()
