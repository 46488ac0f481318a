"""The dashboards' numbers: a period, the rollup's rows summed into counts, Connect's states.

`summarise` is the decision (pure: rows in, counts out); `stats` reads what it needs.
Leads are counted by the UTC day they came and their status now: a lead of Monday that a
person marks invalid on Tuesday moves Monday's counts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy.orm import Session

from leadgate.errors import InvalidRequest
from leadgate.kit.repository import TenantScope
from leadgate.processr.registry import REGISTRY
from leadgate.stats import repository
from leadgate.stats.models import NO_FLAG
from leadgate.stats.repository import Counts
from leadgate.stats.schemas import (
    STATUSES,
    ConnectStats,
    DayCounts,
    MirrorState,
    PublisherCounts,
    Reason,
    StatsOut,
    StatusCounts,
    VerdictDay,
)

# The longest period one answer covers (a year and a day: a leap year fits).
MAX_DAYS = 367
TOP_REASONS = 10
NO_FLAG_TEXT = "Marked invalid without a flag (by a person or the client)"
PERIODS = {"today": 1, "7d": 7, "30d": 30}
# Dates a period may name (far from the calendar's ends, so a day before or after exists).
EARLIEST = date(2000, 1, 1)
LATEST = date(2999, 12, 31)


@dataclass(frozen=True, slots=True)
class Period:
    """Whole UTC days from `start` to `end`, both included."""

    start: date
    end: date

    @property
    def days(self) -> list[date]:
        """Every day of the period, in order."""
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days + 1)]

    @property
    def since(self) -> datetime:
        """Midnight UTC of the first day."""
        return datetime.combine(self.start, time.min, tzinfo=UTC)

    @property
    def before(self) -> datetime:
        """Midnight UTC after the last day."""
        return datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=UTC)


def today() -> date:
    """Today in UTC."""
    return datetime.now(UTC).date()


def last_days(n: int, until: date | None = None) -> Period:
    """The last `n` days up to and including `until` (today)."""
    end = until or today()
    return Period(end - timedelta(days=n - 1), end)


def parse_period(start: str | None, end: str | None, *, default_days: int = 7) -> Period:
    """A period from `from` / `to` (YYYY-MM-DD, both optional); InvalidRequest if unreadable,
    reversed or longer than MAX_DAYS."""
    try:
        first = date.fromisoformat(start) if start else None
        last = date.fromisoformat(end) if end else None
    except ValueError:
        raise InvalidRequest("Dates are written as YYYY-MM-DD, e.g. 2026-12-01.") from None
    for day in (first, last):
        if day is not None and not EARLIEST <= day <= LATEST:
            raise InvalidRequest(f"Dates lie between {EARLIEST} and {LATEST}.")
    if first is None and last is None:
        return last_days(default_days)
    if first is None:
        assert last is not None
        first = last - timedelta(days=default_days - 1)
    if last is None:
        last = max(first, today())
    if last < first:
        raise InvalidRequest("The period ends before it starts: `to` must not be before `from`.")
    if (last - first).days + 1 > MAX_DAYS:
        raise InvalidRequest(f"A period covers at most {MAX_DAYS} days.")
    return Period(first, last)


def acceptance(counts: StatusCounts) -> float | None:
    """valid / judged (valid, caution, invalid); None before any lead is judged."""
    judged = counts.valid + counts.caution + counts.invalid
    return round(counts.valid / judged, 4) if judged else None


def _total(counts: StatusCounts) -> int:
    return sum(getattr(counts, s) for s in STATUSES)


def _share(n: int, of: int) -> float:
    return round(n / of, 4) if of else 0.0


def flag_text(code: str) -> str:
    """What a flag code means, for people (the code itself when no job type declares it)."""
    if code == NO_FLAG:
        return NO_FLAG_TEXT
    return REGISTRY.flag_text(code) or code


@dataclass(frozen=True, slots=True)
class Summary:
    """The rollup rows of a period summed every way the dashboards show them."""

    by_status: StatusCounts
    by_day: list[DayCounts]
    by_publisher: list[PublisherCounts]
    reasons: list[Reason]

    @property
    def total(self) -> int:
        """Every lead of the period."""
        return _total(self.by_status)


def _status_counts(found: Mapping[str, int]) -> StatusCounts:
    return StatusCounts(**{s: found.get(s, 0) for s in STATUSES})


def summarise(
    counts: Counts,
    period: Period,
    names: Mapping[int, str],
    text_of: Callable[[str], str] = flag_text,
    top: int = TOP_REASONS,
) -> Summary:
    """Counts by status, by day (every day of the period), by publisher, and the top reasons
    of invalid leads, from the rollup's sums (pure)."""
    per_day: dict[date, dict[str, int]] = {d: {} for d in period.days}
    overall: dict[str, int] = defaultdict(int)
    for (day, status), n in counts.by_day.items():
        per_day.setdefault(day, {})[status] = n
        overall[status] += n
    per_publisher: dict[int, dict[str, int]] = defaultdict(dict)
    for (pid, status), n in counts.by_publisher.items():
        per_publisher[pid][status] = n
    publishers = []
    for pid, found in per_publisher.items():
        c = _status_counts(found)
        publishers.append(
            PublisherCounts(
                publisher_id=pid or None,
                name=names.get(pid, f"Publisher {pid}") if pid else "Entered by an admin",
                total=_total(c),
                by_status=c,
                acceptance_rate=acceptance(c),
            )
        )
    publishers.sort(key=lambda p: (-p.total, p.name))
    by_status = _status_counts(overall)
    ranked = sorted(counts.by_code.items(), key=lambda item: (-item[1], item[0]))
    reasons = [
        Reason(code=code, text=text_of(code), count=n, share=_share(n, by_status.invalid))
        for code, n in ranked[:top]
        if n > 0
    ]
    days = []
    for d, found in sorted(per_day.items()):
        c = _status_counts(found)
        days.append(DayCounts(day=d, total=_total(c), by_status=c))
    return Summary(by_status, days, publishers, reasons)


def _connect(scope: TenantScope, campaign_id: int | None, period: Period) -> ConnectStats | None:
    mirrors = repository.mirrors(scope, campaign_id)
    jobs = repository.delivery_jobs(scope, campaign_id)
    if not mirrors and not jobs:
        return None
    now = datetime.now(UTC)
    states = repository.delivery_states(scope, jobs)
    verdicts = {d: VerdictDay(day=d, accepted=0, returned=0, waiting=0) for d in period.days}
    for day, status, n in repository.client_verdicts(scope, jobs, period.since, period.before):
        v = verdicts.setdefault(day, VerdictDay(day=day, accepted=0, returned=0, waiting=0))
        if status == "valid":
            v.accepted += n
        elif status == "invalid":
            v.returned += n
        else:
            v.waiting += n
    return ConnectStats(
        mirrors=[
            MirrorState(
                job_id=m.job_id,
                campaign_id=m.campaign_id,
                label=m.label,
                client=m.subdomain,
                state=m.state,
                version=m.version,
                synced_at=m.synced_at,
                age_seconds=int((now - m.synced_at).total_seconds()) if m.synced_at else None,
                last_error=m.last_error,
            )
            for m in mirrors
        ],
        delivery_backlog=states.get("queued", 0) + states.get("held", 0),
        dead_deliveries=states.get("dead", 0),
        client_verdicts=[verdicts[d] for d in sorted(verdicts)],
    )


def stats(
    scope: TenantScope,
    period: Period,
    *,
    campaign_id: int | None = None,
    publisher_id: int | None = None,
) -> StatsOut:
    """The dashboard's numbers of the instance, or of one campaign, or of one publisher's
    leads (then without the Connect side, which is the instance's own business)."""
    counts = repository.counts(
        scope, period.start, period.end, campaign_id=campaign_id, publisher_id=publisher_id
    )
    names = repository.publisher_names(scope, sorted({p for p, _ in counts.by_publisher} - {0}))
    summary = summarise(counts, period, names)
    return StatsOut(
        campaign_id=campaign_id,
        from_=period.start,
        to=period.end,
        total=summary.total,
        by_status=summary.by_status,
        acceptance_rate=acceptance(summary.by_status),
        by_publisher=summary.by_publisher,
        by_day=summary.by_day,
        top_rejection_reasons=summary.reasons,
        connect=_connect(scope, campaign_id, period) if publisher_id is None else None,
    )


def compact(session: Session) -> int:
    """Fold the rollup's deltas into its counts (the worker does it every minute)."""
    return repository.compact(session)
