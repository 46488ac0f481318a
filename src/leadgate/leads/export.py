"""Leads as CSV, streamed: one row per lead (id, created_at, campaign, status, score, publisher,
every form field, flags, flag codes, the person's reason), written by the stdlib `csv` module a
page at a time from a server-side cursor, so memory stays flat at a million leads.

Cells a spreadsheet would run as formulas (starting with `= + - @`, a tab or a CR) get a `'`
in front unless the caller asks for the exact values (OWASP "CSV injection"), as the list
download does.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy.engine import Engine

from leadgate.campaigns import service as campaigns
from leadgate.campaigns.models import Campaign
from leadgate.errors import InvalidRequest
from leadgate.kit.repository import TenantScope
from leadgate.leads import repository
from leadgate.leads.service import STATUSES
from leadgate.lists.csv_values import FORMULA_STARTS
from leadgate.publishers import service as publishers

FIXED = ("id", "created_at", "campaign", "status", "score", "publisher")
AFTER = ("flags", "flag_codes", "reason")
BATCH = 5_000


@dataclass(frozen=True)
class Export:
    """What to export, checked against the instance: the filter and the form fields."""

    instance_id: int
    fields: tuple[str, ...]
    campaign_id: int | None = None
    statuses: tuple[str, ...] = ()
    publisher_id: int | None = None
    since: datetime | None = None
    before: datetime | None = None
    neutralise: bool = True
    id_bounds: tuple[int | None, int | None] = field(default=(None, None))

    @property
    def header(self) -> list[str]:
        """The first CSV row: the fixed columns, the form fields, then flags and reason."""
        taken = set(FIXED) | set(AFTER)
        named = [f"field:{f}" if f in taken else f for f in self.fields]
        return [*FIXED, *named, *AFTER]


def moment(raw: str | None, name: str, *, end: bool = False) -> datetime | None:
    """A `from`/`to` bound: an ISO date (a whole day in UTC: `to` includes it) or an ISO
    date-time (no zone: UTC); else 422 naming the parameter."""
    if raw is None or raw == "":
        return None
    try:
        if len(raw) == 10:
            day = date.fromisoformat(raw)
            start = datetime.combine(day, time.min, tzinfo=UTC)
            return start + timedelta(days=1) if end else start
        found = datetime.fromisoformat(raw)
    except ValueError:
        message = "a date (YYYY-MM-DD) or date-time (YYYY-MM-DDTHH:MM:SS, UTC unless a zone)"
        raise InvalidRequest(
            f"{name} is not {message}.",
            errors=[{"loc": ["query", name], "msg": message, "type": "datetime_parsing"}],
        ) from None
    return found if found.tzinfo is not None else found.replace(tzinfo=UTC)


def prepare(
    scope: TenantScope,
    *,
    campaign_id: int | None = None,
    statuses: Sequence[str] = (),
    publisher_id: int | None = None,
    since: datetime | None = None,
    before: datetime | None = None,
    neutralise: bool = True,
    seen: Sequence[Campaign] | None = None,
) -> Export:
    """Check the filter (404 for another instance's campaign or publisher, 422 for a status
    that is none) and find the columns: the campaign's form, or the fields of every campaign
    (of those `seen`, when the caller may see only some: a publisher its granted ones)."""
    for status in statuses:
        if status not in STATUSES:
            raise InvalidRequest(f"status must be one of {', '.join(STATUSES)}.")
    if campaign_id is not None:
        forms = [campaigns.get(scope, campaign_id).fields]
    else:
        forms = [c.fields for c in (campaigns.list_all(scope) if seen is None else seen)]
    if publisher_id is not None:
        publishers.get(scope, publisher_id)
    names: dict[str, None] = {}
    for form in forms:
        names.update((f["name"], None) for f in form)
    first = repository.first_id_from_any_instance(scope.session, since) if since else None
    last = repository.first_id_from_any_instance(scope.session, before) if before else None
    return Export(
        instance_id=scope.instance_id,
        fields=tuple(names),
        campaign_id=campaign_id,
        statuses=tuple(statuses),
        publisher_id=publisher_id,
        since=since,
        before=before,
        neutralise=neutralise,
        id_bounds=(first, last),
    )


def count(scope: TenantScope, export: Export) -> int:
    """How many leads the export holds (from the indexes), for a progress bar."""
    found = repository.status_counts(
        scope,
        campaign_id=export.campaign_id,
        publisher_id=export.publisher_id,
        since=export.since,
        before=export.before,
    )
    return sum(n for s, n in found.items() if not export.statuses or s in export.statuses)


def chunks(engine: Engine, export: Export, batch: int) -> Iterator[tuple[int, bytes]]:
    """(rows, CSV bytes) a page at a time, the header first (0 rows), from one consistent
    snapshot of the database."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(export.header)
    yield 0, buffer.getvalue().encode()
    with engine.connect() as conn:
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            # The cursor is read to its end: plan for all rows, not the first 10% (a fast-start
            # plan probes the verdicts lead by lead); JIT compiling costs ~0.3 s before the
            # first row and saves nothing here.
            conn.exec_driver_sql("SET LOCAL cursor_tuple_fraction = 1.0")
            conn.exec_driver_sql("SET LOCAL jit = off")
            pages = repository.export_rows(
                conn,
                export.instance_id,
                export.fields,
                campaign_id=export.campaign_id,
                statuses=export.statuses,
                publisher_id=export.publisher_id,
                first_id=export.id_bounds[0],
                before_id=export.id_bounds[1],
                since=export.since,
                before=export.before,
                formula_starts=FORMULA_STARTS if export.neutralise else (),
                batch=batch,
            )
            for rows in pages:
                buffer.seek(0)
                buffer.truncate()
                writer.writerows(rows)
                yield len(rows), buffer.getvalue().encode()


def stream(engine: Engine, export: Export) -> Iterator[bytes]:
    """The CSV bytes alone (what the HTTP answer sends)."""
    for _, data in chunks(engine, export, BATCH):
        yield data


def filename(export: Export) -> str:
    """A name for the downloaded file."""
    part = f"campaign-{export.campaign_id}" if export.campaign_id else "all"
    status = "-" + "-".join(export.statuses) if export.statuses else ""
    return f"leads-{part}{status}.csv"
