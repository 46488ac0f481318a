"""Pages: the dashboard of the instance and of one campaign, and each chart as SVG and CSV.

The charts are images of our own (`<img src=....svg>`): pygal draws them server-side with its
styles inside the SVG, which the pages' Content-Security-Policy would refuse inline; as an
image, an SVG runs no script at all. Every chart has its numbers in a table beside it and as a
CSV download.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, Response

from leadgate.campaigns import service as campaigns
from leadgate.campaigns.models import Campaign
from leadgate.errors import InvalidRequest, NotFound
from leadgate.instances.deps import DbSession
from leadgate.kit.params import Id
from leadgate.kit.repository import TenantScope
from leadgate.stats import charts, service
from leadgate.stats.schemas import StatsOut
from leadgate.ui.templating import render
from leadgate.users.deps import AdminUser, scope_of

router = APIRouter()

PERIOD_WORDS = {"today": "Today", "7d": "Last 7 days", "30d": "Last 30 days"}
MIRROR_WORDS = {
    "ok": "In sync",
    "pending": "Not fetched yet: its leads wait",
    "unavailable": "Client unreachable: the last good copy judges",
    "gone": "Gone at the client",
}
# An SVG as an image runs no script; its own inline styles are all it needs.
SVG_CSP = "default-src 'none'; style-src 'unsafe-inline'"

Text = Annotated[str, Query(max_length=20)]


@dataclass(frozen=True, slots=True)
class Choice:
    """The period someone picked: a quick one (`today`, `7d`, `30d`) or `custom` days."""

    key: str
    period: service.Period

    @property
    def words(self) -> str:
        """The period as a heading says it."""
        if self.key in PERIOD_WORDS:
            return PERIOD_WORDS[self.key]
        p = self.period
        return p.start.isoformat() if p.start == p.end else f"{p.start} to {p.end}"

    def query(self, campaign_id: int | None = None) -> str:
        """The choice as URL parameters."""
        params: dict[str, str | int] = {"period": self.key}
        if self.key == "custom":
            params |= {"from": self.period.start.isoformat(), "to": self.period.end.isoformat()}
        if campaign_id is not None:
            params["campaign_id"] = campaign_id
        return urlencode(params)


def choose(period: str, start: str, end: str) -> Choice:
    """The period of the query string (default: the last 7 days); InvalidRequest if unreadable."""
    if period in service.PERIODS:
        return Choice(period, service.last_days(service.PERIODS[period]))
    if period in ("", "custom") and (start or end):
        return Choice("custom", service.parse_period(start or None, end or None))
    if period in ("", "custom"):
        return Choice("7d", service.last_days(7))
    raise InvalidRequest("The period is today, 7d, 30d or custom (with from and to).")


def _campaign(scope: TenantScope, campaign_id: str) -> Campaign | None:
    if not campaign_id:
        return None
    if not campaign_id.isdigit() or not 1 <= int(campaign_id) < 2**63:
        raise NotFound("There is no such campaign.", code="campaign_not_found")
    return campaigns.get(scope, int(campaign_id))


def _dashboard(
    request: Request,
    me: AdminUser,
    scope: TenantScope,
    campaign: Campaign | None,
    period: str,
    start: str,
    end: str,
) -> HTMLResponse:
    problem = None
    try:
        choice = choose(period, start, end)
    except InvalidRequest as exc:
        problem, choice = exc.detail, choose("7d", "", "")
    numbers = service.stats(scope, choice.period, campaign_id=campaign.id if campaign else None)
    tables = [charts.TABLES[name](numbers) for name in _shown(numbers)]
    return render(
        request,
        "stats/dashboard.html",
        {
            "title": f"Dashboard: {campaign.name}" if campaign else "Dashboard",
            "campaign": campaign,
            "campaigns": campaigns.list_all(scope),
            "choice": choice,
            "period_words": PERIOD_WORDS,
            "problem": problem,
            "stats": numbers,
            "tables": tables,
            "chart_query": choice.query(campaign.id if campaign else None),
            "mirror_words": MIRROR_WORDS,
            "leads_query": _leads_query(choice, campaign),
        },
        me=me,
        status=422 if problem else 200,
    )


def _shown(numbers: StatsOut) -> list[str]:
    names = ["leads-per-day", "acceptance-per-publisher", "rejection-reasons"]
    return [*names, "client-verdicts"] if numbers.connect else names


def _leads_query(choice: Choice, campaign: Campaign | None) -> str:
    params = {
        "date_from": choice.period.start.isoformat(),
        "date_to": choice.period.end.isoformat(),
    }
    if campaign is not None:
        params["campaign_id"] = str(campaign.id)
    return urlencode(params)


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard(
    request: Request,
    me: AdminUser,
    session: DbSession,
    campaign_id: Text = "",
    period: Text = "",
    from_: Annotated[str, Query(alias="from", max_length=10)] = "",
    to: Annotated[str, Query(max_length=10)] = "",
) -> HTMLResponse:
    """How the instance (or one campaign) is doing: leads per day, publishers, reasons."""
    scope = scope_of(session, me)
    return _dashboard(request, me, scope, _campaign(scope, campaign_id), period, from_, to)


@router.get("/campaigns/{campaign_id}/dashboard", response_class=HTMLResponse)
def campaign_dashboard(
    request: Request,
    campaign_id: Id,
    me: AdminUser,
    session: DbSession,
    period: Text = "",
    from_: Annotated[str, Query(alias="from", max_length=10)] = "",
    to: Annotated[str, Query(max_length=10)] = "",
) -> HTMLResponse:
    """How one campaign is doing."""
    scope = scope_of(session, me)
    campaign = campaigns.get(scope, campaign_id)
    return _dashboard(request, me, scope, campaign, period, from_, to)


ChartName = Annotated[str, Path(pattern="^(" + "|".join(charts.TABLES) + ")$")]


def _numbers(
    me: AdminUser,
    session: DbSession,
    campaign_id: Text = "",
    period: Text = "",
    from_: Annotated[str, Query(alias="from", max_length=10)] = "",
    to: Annotated[str, Query(max_length=10)] = "",
) -> StatsOut:
    """The numbers a chart draws, from the chart URL's campaign and period."""
    scope = scope_of(session, me)
    campaign = _campaign(scope, campaign_id)
    choice = choose(period, from_, to)
    return service.stats(scope, choice.period, campaign_id=campaign.id if campaign else None)


Numbers = Annotated[StatsOut, Depends(_numbers)]


@router.get("/dashboard/charts/{name}.svg", response_class=Response)
def chart_svg(name: ChartName, numbers: Numbers) -> Response:
    """One chart of the dashboard as an SVG image."""
    return Response(
        charts.svg(numbers, name),
        media_type="image/svg+xml",
        headers={"content-security-policy": SVG_CSP, "cache-control": "private, no-store"},
    )


@router.get("/dashboard/charts/{name}.csv", response_class=Response)
def chart_csv(name: ChartName, numbers: Numbers) -> Response:
    """The numbers of one chart as a CSV file."""
    table = charts.TABLES[name](numbers)
    scope_word = f"campaign-{numbers.campaign_id}-" if numbers.campaign_id else ""
    filename = f"{name}-{scope_word}{numbers.from_}-to-{numbers.to}.csv"
    return Response(
        charts.to_csv(table),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{filename}"'},
    )
