"""Queries on leads and their history, and the intake's statements.

Everything is scoped to one instance (`TenantScope`) but for three deliberate exceptions, each
named `..._any_instance` and taking a bare session: the periodic re-judge's scans (tasks that
carry ids, not an instance), a reload of a lead the intake just wrote, and the date bounds of
the lead list (lead ids are one sequence for every instance, so a bound is a bound for all).
The intake's batched statements (`LOOKUP`, `EARLIER`, `WRITE`, and for leads that claim keys
`LOCK_KEYS`, `PROBE_KEYS`, `WRITE_CLAIMING`) serve submissions to many instances at once: each
row is tied to its instance through the key (LOOKUP), the key's publisher (EARLIER) or the
instance the lookup found (WRITE, and the keys' rows).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any, TypeVar, TypeVarTuple

from sqlalchemy import Select, func, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from leadgate.kit.pagination import Page, paginate
from leadgate.kit.ratelimit import counting
from leadgate.kit.repository import TenantScope
from leadgate.leads.models import Lead, LeadHistory, LeadKey

T = TypeVar("T")
Ts = TypeVarTuple("Ts")

# --- the intake's statements (raw SQL: the hot path, one parse per batch) -----------------------

# For each distinct (subdomain, key, campaign) of a batch: the key's publisher (live keys only),
# the campaign if it is granted to that publisher, the stamp of its jobs (ids, update times and
# inputs versions: the per-process judging view is rebuilt when it moves), whether it has jobs
# only the general driver runs, and the versions of the lists its jobs read.
LOOKUP = """
SELECT q.i, k.instance_id, k.publisher_id, k.id, c.id, c.name, c.status, c.fields,
       jobs.stamp, jobs.general, lists.versions
FROM jsonb_to_recordset(%(q)s::jsonb) AS q(i int, sub text, key_hash text, cid bigint)
JOIN instances n ON n.subdomain = q.sub
JOIN publisher_api_keys k
  ON k.instance_id = n.id AND k.key_hash = q.key_hash AND k.revoked_at IS NULL
LEFT JOIN campaign_publishers g
  ON g.instance_id = n.id AND g.publisher_id = k.publisher_id AND g.campaign_id = q.cid
LEFT JOIN campaigns c ON c.id = g.campaign_id AND c.instance_id = n.id
LEFT JOIN LATERAL (
    SELECT string_agg(j.id || '@' || j.updated_at || '.' || j.inputs_version, ','
                      ORDER BY j.id) AS stamp,
           coalesce(bool_or(j.type <> ALL(%(fast)s::text[])), false) AS general,
           array_agg((j.config ->> 'list_id')::bigint)
             FILTER (WHERE jsonb_typeof(j.config -> 'list_id') = 'number') AS list_ids
    FROM processr_jobs j WHERE j.campaign_id = c.id
) jobs ON true
LEFT JOIN LATERAL (
    SELECT jsonb_agg(jsonb_build_array(l.id, l.name, l.version)) AS versions
    FROM validation_lists l WHERE l.instance_id = n.id AND l.id = ANY(jobs.list_ids)
) lists ON true
"""

# The fast driver's LOOKUP, which also counts the batch's hits of each publisher whose key it
# found (kit/ratelimit.py; `n`: the batch's submissions of an asked row): one round trip instead
# of two. Each row carries its publisher's new total and the seconds until its window ends.
_FOUND_HITS = """(
    SELECT f.publisher_id AS p, sum(a.n)::int AS n
    FROM found f JOIN jsonb_to_recordset(%(q)s::jsonb) AS a(i int, n int) ON a.i = f.i
    GROUP BY f.publisher_id
) AS h"""
LOOKUP_COUNTING = f"""
WITH found AS MATERIALIZED ({LOOKUP}), hits AS ({counting(_FOUND_HITS)})
SELECT found.*, hits.count, hits.reset_in
FROM found LEFT JOIN hits ON hits.publisher_id = found.publisher_id
"""

# The leads sent earlier with these (publisher, Idempotency-Key) pairs.
EARLIER = """
SELECT l.publisher_id, l.idempotency_key, l.id, l.status, l.score, l.max_score, l.flags,
       l.updated_at, l.request_hash, l.campaign_id
FROM jsonb_to_recordset(%(q)s::jsonb) AS q(publisher_id bigint, key text)
JOIN leads l ON l.publisher_id = q.publisher_id AND l.idempotency_key = q.key
"""

# One atomic statement writes a batch: ids drawn from the sequence in submission order, the
# leads (a key that another process stored meanwhile is skipped, not an error), and the history
# rows of the leads actually inserted, in order. The rows travel as JSON documents, so the
# statement is the same for any batch size and costs one parse.
_LEAD_COLUMNS = """
        ord int, instance_id bigint, campaign_id bigint, publisher_id bigint, data jsonb,
        status text, score int, max_score int, flags jsonb, jobs jsonb, idempotency_key text,
        request_hash text, judged boolean"""
_STORE = """
ins AS (
    INSERT INTO leads (id, instance_id, campaign_id, publisher_id, data, status, score,
                       max_score, flags, jobs, idempotency_key, request_hash, judged_at)
    SELECT id, instance_id, campaign_id, publisher_id, data, status, score, max_score, flags,
           jobs, idempotency_key, request_hash, CASE WHEN judged THEN now() END
    FROM src ORDER BY ord
    ON CONFLICT (publisher_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
    RETURNING id, updated_at
), hist AS (
    INSERT INTO lead_history (lead_id, event, detail)
    SELECT ins.id, h.event, h.detail
    FROM jsonb_to_recordset(%(history)s::jsonb) AS h(ord int, n int, event text, detail jsonb)
    JOIN src ON src.ord = h.ord
    JOIN ins ON ins.id = src.id
    ORDER BY h.n
)"""
_ANSWER = "SELECT src.id, ins.updated_at FROM src LEFT JOIN ins ON ins.id = src.id ORDER BY src.ord"

WRITE = f"""
WITH src AS MATERIALIZED (
    SELECT nextval(pg_get_serial_sequence('leads', 'id')) AS id, u.*
    FROM jsonb_to_recordset(%(leads)s::jsonb) AS u({_LEAD_COLUMNS})
    ORDER BY u.ord
), {_STORE}
{_ANSWER}
"""

# --- keys that leads claim (processr.plugin.Claim): lock, probe, write -------------------------

# The batch's keys locked until its transaction ends (an advisory lock per key: ids sorted by
# the caller, so two batches never wait for each other in a circle). Its own statement: under
# READ COMMITTED the probe that follows sees what the lock's last holder committed.
LOCK_KEYS = "SELECT pg_advisory_xact_lock(k) FROM unnest(%(locks)s::bigint[]) AS k"

# For each (key, states that count, before) of a batch: the newest earlier lead holding the key
# in one of those states (one index probe each); `before` (a lead judged again) keeps to leads
# stored before it. The first row also carries `n` lead ids drawn for the batch (in order, after
# the locks), so a lead can name an earlier lead of its own batch; and the database's time.
PROBE_KEYS = """
WITH drawn AS (
    SELECT array_agg(nextval(pg_get_serial_sequence('leads', 'id')) ORDER BY g) AS ids
    FROM generate_series(1, %(n)s) AS g
)
SELECT q.n, e.lead_id, e.at, now(), CASE WHEN q.n = 0 THEN drawn.ids END
FROM jsonb_to_recordset(%(q)s::jsonb)
     AS q(n int, instance_id bigint, scope_ref text, digest text, states text[], before bigint)
CROSS JOIN drawn
LEFT JOIN LATERAL (
    SELECT k.lead_id, k.at FROM lead_keys k
    WHERE k.instance_id = q.instance_id AND k.scope_ref = q.scope_ref
      AND k.hash = decode(q.digest, 'hex') AND k.state = ANY(q.states)
      AND (q.before IS NULL OR k.lead_id < q.before)
    ORDER BY k.at DESC, k.lead_id DESC
    LIMIT 1
) e ON true
ORDER BY q.n
"""

# WRITE for a batch that claims keys: the leads take the ids PROBE_KEYS drew, and the keys of
# the leads actually inserted are written in the same statement.
WRITE_CLAIMING = f"""
WITH src AS MATERIALIZED (
    SELECT u.* FROM jsonb_to_recordset(%(leads)s::jsonb) AS u(id bigint, {_LEAD_COLUMNS})
    ORDER BY u.ord
), {_STORE}, claimed AS (
    INSERT INTO lead_keys (lead_id, instance_id, scope_ref, hash, at, state)
    SELECT ins.id, k.instance_id, k.scope_ref, decode(k.digest, 'hex'), now(), k.state
    FROM jsonb_to_recordset(%(keys)s::jsonb)
         AS k(ord int, instance_id bigint, scope_ref text, digest text, state text)
    JOIN src ON src.ord = k.ord
    JOIN ins ON ins.id = src.id
    ON CONFLICT DO NOTHING
)
{_ANSWER}
"""


# The fast driver's claiming transaction in two messages of several statements, with the
# parameters bound on the client (a message of several statements takes no server-side ones):
# BEGIN, the lock and the probe; the write and COMMIT. The probe and the write run as
# statements prepared once per connection (PREPARE_CLAIMING), so they are not planned again
# for every batch.
def _prepare(name: str, sql: str, params: dict[str, str]) -> str:
    """`PREPARE name(types) AS sql`, its `%(param)s` placeholders made positional."""
    for n, param in enumerate(params, 1):
        placeholder = f"%({param})s"
        assert placeholder in sql, placeholder
        sql = sql.replace(placeholder, f"${n}")
    return f"PREPARE {name}({', '.join(params.values())}) AS {sql}"


PREPARE_CLAIMING = ";\n".join(
    [
        _prepare("leadgate_probe_keys", PROBE_KEYS, {"q": "jsonb", "n": "int"}),
        _prepare(
            "leadgate_write_claiming",
            WRITE_CLAIMING,
            {"leads": "jsonb", "history": "jsonb", "keys": "jsonb"},
        ),
    ]
)
CLAIM = f"BEGIN;\n{LOCK_KEYS};\nEXECUTE leadgate_probe_keys(%(q)s, %(n)s)"
WRITE_CLAIMED = "EXECUTE leadgate_write_claiming(%(leads)s, %(history)s, %(keys)s)"
WRITE_AND_COMMIT = f"{WRITE_CLAIMED};\nCOMMIT"

# The keys of leads stored by the ORM (one lead submitted, or judged again); `at` NULL: now.
WRITE_KEYS = """
INSERT INTO lead_keys (lead_id, instance_id, scope_ref, hash, at, state)
SELECT k.lead_id, k.instance_id, k.scope_ref, decode(k.digest, 'hex'), coalesce(k.at, now()),
       k.state
FROM jsonb_to_recordset(%(keys)s::jsonb) AS k(
    lead_id bigint, instance_id bigint, scope_ref text, digest text, at timestamptz, state text)
ON CONFLICT DO NOTHING
"""

# A lead judged again gives up its keys first (its new verdict claims them anew).
FORGET_KEYS = "DELETE FROM lead_keys WHERE lead_id = %(lead_id)s AND instance_id = %(instance_id)s"


def restate_keys(scope: TenantScope, lead_id: int, state: str) -> None:
    """Give the lead's keys a new state (its status changed by a person or the client)."""
    scope.session.execute(
        update(LeadKey)
        .where(LeadKey.instance_id == scope.instance_id, LeadKey.lead_id == lead_id)
        .values(state=state)
    )


# --- one lead ----------------------------------------------------------------------------------


def get(scope: TenantScope, lead_id: int) -> Lead:
    """A lead of this instance, or 404 lead_not_found."""
    return scope.get(Lead, lead_id, missing="lead_not_found", what="lead")


def find_of_publisher(scope: TenantScope, publisher_id: int, lead_id: int) -> Lead | None:
    """The lead with this id if it is one of the publisher's in this instance."""
    return scope.session.scalars(
        scope.select(Lead).where(Lead.id == lead_id, Lead.publisher_id == publisher_id)
    ).one_or_none()


def leads_any_instance(session: Session, lead_ids: Sequence[int]) -> dict[int, Lead]:
    """Cross-instance (the intake reloading the leads it just wrote, of any instance): by id."""
    if not lead_ids:
        return {}
    return {lead.id: lead for lead in session.scalars(select(Lead).where(Lead.id.in_(lead_ids)))}


def history_of(scope: TenantScope, lead: Lead) -> Sequence[LeadHistory]:
    """The history of a lead (read through this scope), oldest first."""
    return scope.session.scalars(
        select(LeadHistory).where(LeadHistory.lead_id == lead.id).order_by(LeadHistory.id)
    ).all()


# --- the lead list (the API's and the pages') ---------------------------------------------------


def first_id_from_any_instance(session: Session, moment: datetime) -> int:
    """The smallest lead id created at or after `moment` (binary search over the primary key).

    Cross-instance on purpose: ids come from one sequence, so the bound holds for every instance.
    """
    low = session.scalar(select(func.min(Lead.id))) or 1
    high = (session.scalar(select(func.max(Lead.id))) or 0) + 1
    while low < high:
        middle = (low + high) // 2
        row = session.execute(
            select(Lead.id, Lead.created_at).where(Lead.id >= middle).order_by(Lead.id).limit(1)
        ).first()
        if row is None or row.created_at >= moment:
            high = middle
        else:
            low = row.id + 1
    return low


def _filtered(
    scope: TenantScope,
    query: Select[*Ts],
    *,
    campaign_id: int | None,
    publisher_id: int | None,
    since: datetime | None,
    before: datetime | None,
) -> Select[*Ts]:
    query = query.where(Lead.instance_id == scope.instance_id)
    if campaign_id is not None:
        query = query.where(Lead.campaign_id == campaign_id)
    if publisher_id is not None:
        query = query.where(Lead.publisher_id == publisher_id)
    if since is not None:
        query = query.where(Lead.id >= first_id_from_any_instance(scope.session, since))
    if before is not None:
        query = query.where(Lead.id < first_id_from_any_instance(scope.session, before))
    return query


def search(
    scope: TenantScope,
    *,
    campaign_id: int | None = None,
    status: str | None = None,
    publisher_id: int | None = None,
    since: datetime | None = None,
    before: datetime | None = None,
    limit: int,
    cursor: str | None,
    to_item: Callable[[Lead], T],
) -> Page[T]:
    """A page of the instance's leads, newest first, created in [since, before), filtered."""
    query = _filtered(
        scope,
        select(Lead),
        campaign_id=campaign_id,
        publisher_id=publisher_id,
        since=since,
        before=before,
    )
    if status is not None:
        query = query.where(Lead.status == status)
    if since is not None:
        query = query.where(Lead.created_at >= since)
    if before is not None:
        query = query.where(Lead.created_at < before)
    return paginate(
        scope.session, query, Lead.id, limit=limit, cursor=cursor, to_item=to_item, descending=True
    )


def status_counts(
    scope: TenantScope,
    *,
    campaign_id: int | None = None,
    publisher_id: int | None = None,
    since: datetime | None = None,
    before: datetime | None = None,
) -> dict[str, int]:
    """Leads per status (only the statuses that have any), from the indexes alone."""
    query = _filtered(
        scope,
        select(Lead.status, func.count()),
        campaign_id=campaign_id,
        publisher_id=publisher_id,
        since=since,
        before=before,
    ).group_by(Lead.status)
    return {status: int(n) for status, n in scope.session.execute(query).all()}


# --- leads waiting on a mirror, leads a crash left unjudged ------------------------------------


def first_waiting_id(scope: TenantScope, campaign_id: int) -> int | None:
    """The id of one lead of the campaign judged but still pending (waiting on a mirror)."""
    return scope.session.scalar(
        select(Lead.id)
        .where(
            Lead.instance_id == scope.instance_id,
            Lead.campaign_id == campaign_id,
            Lead.status == "pending",
            Lead.judged_at.is_not(None),
        )
        .limit(1)
    )


def waiting_any_instance(
    session: Session, campaign_id: int, after_id: int, limit: int
) -> Sequence[Lead]:
    """Cross-instance (a task carrying a campaign id): the campaign's next waiting leads, locked."""
    return session.scalars(
        select(Lead)
        .where(
            Lead.campaign_id == campaign_id,
            Lead.status == "pending",
            Lead.judged_at.is_not(None),
            Lead.id > after_id,
        )
        .order_by(Lead.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()


def unjudged_any_instance(session: Session, created_before: datetime, limit: int) -> list[Lead]:
    """Cross-instance (the periodic re-judge): leads never judged, oldest first, locked."""
    return list(
        session.scalars(
            select(Lead)
            .where(Lead.judged_at.is_(None), Lead.created_at < created_before)
            .order_by(Lead.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )


# --- the export (CSV of many leads, streamed) ---------------------------------------------------

# Every column as text, so the driver hands out str and the CSV writer has nothing to convert:
# id, created_at (ISO 8601, UTC), campaign, status, score, publisher, then one column per form
# field (`FIELDS`), the flags' messages and codes, and the reason of the latest verdict by a
# person (with its comment): the verdicts of the export's id range, read from the small partial
# index `ix_lead_history_verdicts` and joined in one pass, not looked up lead by lead.
_EXPORT = """
SELECT l.id::text,
       to_char(l.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
       {campaign}, l.status, l.score::text, {publisher}{fields}, {messages}, fl.codes, {reason}
FROM leads l
JOIN campaigns c ON c.id = l.campaign_id AND c.instance_id = l.instance_id
LEFT JOIN publishers p ON p.id = l.publisher_id AND p.instance_id = l.instance_id
LEFT JOIN LATERAL (
    SELECT string_agg(f ->> 'message', ' | ' ORDER BY n) AS messages,
           string_agg(f ->> 'code', ' ' ORDER BY n) AS codes
    FROM jsonb_array_elements(l.flags) WITH ORDINALITY AS x(f, n)
    WHERE l.flags <> '[]'::jsonb
) fl ON true
LEFT JOIN (
    SELECT DISTINCT ON (h.lead_id) h.lead_id,
           h.detail ->> 'reason' || coalesce(': ' || (h.detail ->> 'comment'), '') AS reason
    FROM lead_history h
    WHERE h.event = 'status_changed' AND h.detail ->> 'by' = 'user'
      AND h.lead_id BETWEEN %(low)s AND %(high)s
    ORDER BY h.lead_id, h.id DESC
) v ON v.lead_id = l.id
WHERE l.instance_id = %(instance_id)s{where}
ORDER BY l.id
"""

# The first and last lead id under the same conditions (bounds the verdicts `_EXPORT` joins).
_EXPORT_RANGE = (
    "SELECT min(l.id), max(l.id) FROM leads l WHERE l.instance_id = %(instance_id)s{where}"
)


def export_rows(
    conn: Connection,
    instance_id: int,
    fields: Sequence[str],
    *,
    campaign_id: int | None,
    statuses: Sequence[str],
    publisher_id: int | None,
    first_id: int | None,
    before_id: int | None,
    since: datetime | None,
    before: datetime | None,
    formula_starts: Sequence[str],
    batch: int,
) -> Iterator[list[tuple[str | None, ...]]]:
    """The instance's leads under a filter, oldest first, `batch` rows at a time, from a
    server-side cursor of the driver (the caller's transaction): never the whole result held.
    `first_id`/`before_id` bound the ids as `first_id_from_any_instance` found them for the
    dates (the created_at conditions then only trim the edges). Texts people or publishers
    wrote that start with one of `formula_starts` come with a `'` in front (none: exact)."""
    params: dict[str, Any] = {"instance_id": instance_id, "formula": list(formula_starts)}

    def cell(expression: str) -> str:
        # A text a person or a publisher wrote: a `'` in front when a spreadsheet would run it.
        if not formula_starts:
            return expression
        return (
            f"CASE WHEN left({expression}, 1) = ANY(%(formula)s) "
            f"THEN '''' || {expression} ELSE {expression} END"
        )

    select_fields = ""
    for n, name in enumerate(fields):
        params[f"f{n}"] = name
        select_fields += ", " + cell(f"(l.data ->> %(f{n})s)")
    columns = {
        "campaign": cell("c.name"),
        "publisher": cell("p.name"),
        "messages": cell("fl.messages"),
        "reason": cell("v.reason"),
    }
    where = ""
    for column, key, value in (
        ("l.campaign_id =", "campaign_id", campaign_id),
        ("l.publisher_id =", "publisher_id", publisher_id),
        ("l.id >=", "first_id", first_id),
        ("l.id <", "before_id", before_id),
        ("l.created_at >=", "since", since),
        ("l.created_at <", "before", before),
    ):
        if value is not None:
            where += f" AND {column} %({key})s"
            params[key] = value
    if statuses:
        where += " AND l.status = ANY(%(statuses)s)"
        params["statuses"] = list(statuses)
    driver = conn.connection.driver_connection
    assert driver is not None
    with driver.cursor() as cur:
        low, high = cur.execute(_EXPORT_RANGE.format(where=where), params).fetchone() or (0, 0)
    if low is None:
        return
    params.update(low=low, high=high)
    with driver.cursor(name="lead_export") as cur:
        cur.itersize = batch
        cur.execute(_EXPORT.format(fields=select_fields, where=where, **columns), params)
        while rows := cur.fetchmany(batch):
            yield rows
