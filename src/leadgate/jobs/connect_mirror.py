"""Connect - Validation List and Connect - Simple Conditional Validation: a client's check,
mirrored, judging our leads exactly as the client's own job would.

The mirror (definition, values, state) is prepared by sync tasks (`leadgate.mirror`); `run` only
reads it through the context, so judging does no network I/O. Saving a job points its mirror and
queues a sync; its dropdowns come from the client.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.orm import Session

from leadgate.config import Settings
from leadgate.jobs.simple_conditional import SimpleConditionalConfig, SimpleConditionalJob
from leadgate.jobs.validation_list import ValidationListConfig, ValidationListJob
from leadgate.kit.repository import TenantScope
from leadgate.lists.matcher import ListMatcher
from leadgate.mirror import context as mirror_context
from leadgate.mirror import service as mirrors
from leadgate.mirror.config import ConnectConfig
from leadgate.mirror.views import MirrorContext, MirrorView
from leadgate.peer import options as client_options
from leadgate.processr.plugin import (
    BaseJobType,
    Claim,
    Earlier,
    Flag,
    JobContext,
    JobResult,
    Option,
    Origin,
    Tab,
    Unprobed,
    failed,
)

CRITERIA_NOT_MET = "connect.criteria_not_met"
JOB_GONE = "connect.job_gone"


class _ListAdapter:
    """Lets the client's validation_list logic read the mirrored list."""

    def __init__(self, view: MirrorView, name: str) -> None:
        self.view = view
        self.name = name

    def compiled_list(self, list_id: int) -> ListMatcher | None:
        return self.view.compiled

    def list_name(self, list_id: int) -> str:
        return self.name

    @property
    def origin(self) -> Origin | None:
        return None

    def earlier(self, claim: Claim) -> Earlier | None:
        raise Unprobed(claim.scope_ref)


def _waiting(reason: str) -> JobResult:
    return JobResult(passed=False, flags=[Flag("connect.waiting", reason)], waiting=True)


def _prefix(view: MirrorView, definition: Mapping[str, Any]) -> str:
    label = definition.get("label") or f"job {view.remote_job_id}"
    version = view.list_version if view.list_version is not None else view.version
    return (
        f"Client rule of {view.subdomain} ({label}, {definition.get('operator')} on their field "
        f"{definition.get('field_name')}, version {version}): "
    )


class _ConnectJob(BaseJobType[ConnectConfig]):
    """Shared judging, set-up and dropdowns of both Connect check types."""

    config_model = ConnectConfig
    tab: Tab = "quality"
    reads_mirrors = True
    secret_bound_keys = frozenset({"Subdomain"})  # the key goes to that instance only
    gone_kind: str = ""
    flag_texts = {
        CRITERIA_NOT_MET: "The client's rules would reject the lead",
        JOB_GONE: "The client's check this job mirrors is gone",
        "connect.waiting": "Waiting for the client's rules to be mirrored",
    }

    def load_views(self, session: Session, job_ids: Sequence[int]) -> Mapping[Any, Any]:
        """The mirrors of these jobs, keyed like their configs name the client's job."""
        return mirror_context.load(session, job_ids)

    def same_rule(self, config: Mapping[str, Any], other: Mapping[str, Any]) -> bool:
        """Two mirrors of one client job (the same instance, campaign and job)."""
        keys = ("Subdomain", "Campaign", "Campaign_Processr_Job")
        return all(str(config.get(k)) == str(other.get(k)) for k in keys)

    def on_saved(self, scope: TenantScope, job: Any, settings: Settings) -> None:
        """Point the job's mirror at the client's job and queue a sync."""
        mirrors.on_saved(scope.session, job)

    def options(
        self, scope: TenantScope, key: str, config: Mapping[str, Any], settings: Settings
    ) -> list[Option] | None:
        """The client's campaigns, then its shared jobs of the mirrored type."""
        if key == "Campaign":
            return [Option(value=v, label=t) for v, t in client_options.campaigns(config, settings)]
        if key == "Campaign_Processr_Job":
            found = client_options.jobs(
                config, settings, self.mirrored_type, with_sizes=self.mirrors_list
            )
            return [Option(value=v, label=t) for v, t in found]
        return None

    def summary(self, config: ConnectConfig, list_names: Mapping[int, str]) -> str:
        """Whose rule it applies."""
        return (
            f"by the rule of {config.Subdomain} (their campaign {config.Campaign}, "
            f"job {config.Campaign_Processr_Job})"
        )

    def run(self, data: Mapping[str, Any], config: ConnectConfig, ctx: JobContext) -> JobResult:
        """Judge with the mirror; gone → pass or fail as configured; no mirror yet → wait."""
        if not isinstance(ctx, MirrorContext):
            return _waiting("No mirror of the client's job is available here.")
        view = ctx.mirror(config.Subdomain, config.Campaign, config.Campaign_Processr_Job)
        if view is None or view.definition is None:
            if view is not None and view.state == "gone":
                return self._gone(config, view)
            return _waiting(
                f"The client's job {config.Campaign_Processr_Job} on {config.Subdomain} has not "
                "been mirrored yet; the lead is judged as soon as it is."
            )
        if view.state == "gone":
            return self._gone(config, view)
        if view.stale(ctx.max_staleness_s):
            return _waiting(
                f"The mirror of the client's job {config.Campaign_Processr_Job} is older than the "
                "allowed staleness; the lead is judged after the next sync."
            )
        result = self._judge(data, config, view)
        result = JobResult(
            passed=result.passed,
            flags=[
                Flag(CRITERIA_NOT_MET, _prefix(view, view.definition) + f.message)
                for f in result.flags
            ],
            mirror_version=view.list_version if view.list_version is not None else view.version,
        )
        return result

    def _gone(self, config: ConnectConfig, view: MirrorView) -> JobResult:
        if config.Pass_if_job_is_gone:
            return JobResult(passed=True, mirror_version=view.version)
        result = failed(
            JOB_GONE,
            f"The client's {self.gone_kind} job {config.Campaign_Processr_Job} on "
            f"{config.Subdomain} has been deleted or is no longer shared with you",
        )
        return JobResult(passed=False, flags=result.flags, mirror_version=view.version)

    def _judge(self, data: Mapping[str, Any], config: ConnectConfig, view: MirrorView) -> JobResult:
        raise NotImplementedError


class ConnectValidationListJob(_ConnectJob):
    """Connect - Validation List."""

    type = "connect_validation_list"
    title = "Connect - Validation List"
    mirrored_type = "validation_list"
    mirrors_list = True
    gone_kind = "validation list"

    def _judge(self, data: Mapping[str, Any], config: ConnectConfig, view: MirrorView) -> JobResult:
        d = view.definition or {}
        listing = d.get("list") or {}
        inner = ValidationListConfig(
            list_id=1,
            field_name=config.Field_name,
            operator=d["operator"],
            rule=d["rule"],
            case_sensitive=bool(d.get("case_sensitive", False)),
            trim=bool(d.get("trim", True)),
        )
        name = str(listing.get("name") or d.get("label") or "of the client")
        if inner.operator == "contains" and view.compiled and not view.compiled.reveals_values:
            # The client refuses contains over a private list; a mirror never guesses.
            return failed(
                CRITERIA_NOT_MET,
                f"The private list {name} cannot be checked with contains on the field "
                f"{config.Field_name}",
            )
        return ValidationListJob().run(data, inner, _ListAdapter(view, name))


class ConnectSimpleConditionalJob(_ConnectJob):
    """Connect - Simple Conditional Validation."""

    type = "connect_simple_conditional_validation"
    title = "Connect - Simple Conditional Validation"
    mirrored_type = "simple_conditional_validation"
    gone_kind = "simple conditional validation"

    def _judge(self, data: Mapping[str, Any], config: ConnectConfig, view: MirrorView) -> JobResult:
        d = view.definition or {}
        inner = SimpleConditionalConfig(
            field_name=config.Field_name,
            operator=d["operator"],
            values=list(d.get("values") or []),
            case_sensitive=bool(d.get("case_sensitive", True)),
        )
        return SimpleConditionalJob().run(data, inner, _ListAdapter(view, ""))
