"""Connect - Validation List and Connect - Simple Conditional Validation: a client's check,
mirrored, judging our leads exactly as the client's own job would.

The mirror (definition, values, state) is prepared by sync tasks; `run` only reads it through
the context, so judging does no network I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from leadgate.jobs.base import Flag, JobContext, JobResult, Tab, failed
from leadgate.jobs.operators import FieldName
from leadgate.jobs.simple_conditional import SimpleConditionalConfig, SimpleConditionalJob
from leadgate.jobs.validation_list import ValidationListConfig, ValidationListJob
from leadgate.lists.matcher import CompiledList

CRITERIA_NOT_MET = "connect.criteria_not_met"
JOB_GONE = "connect.job_gone"
MirrorState = Literal["ok", "gone", "unavailable", "pending"]


class ClientConnection(BaseModel):
    """The client instance and campaign a Connect job talks to, and the key it uses."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    API_Key: str = Field(
        min_length=8,
        max_length=200,
        title="API Key",
        description="Your publisher API key on the client's leadgate instance.",
        json_schema_extra={"x-secret": True},
    )
    Subdomain: str = Field(
        min_length=1,
        max_length=63,
        pattern=r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$",
        title="Subdomain",
        description="The client's leadgate subdomain, e.g. acme.",
    )
    Campaign: int = Field(
        ge=1,
        title="Campaign",
        description="The client's campaign your leads go into.",
        json_schema_extra={"x-options": "remote", "x-depends-on": ["API_Key", "Subdomain"]},
    )


class ConnectConfig(ClientConnection):
    """Where the client's check lives, and which of our fields it applies to."""

    Campaign_Processr_Job: int = Field(
        ge=1,
        title="Campaign Processr Job",
        description="The client's check to mirror (only checks the client shares are listed).",
        json_schema_extra={"x-options": "remote", "x-depends-on": ["Campaign"]},
    )
    Field_name: FieldName = Field(
        title="Field name",
        description="Which of OUR campaign's fields the client's check applies to.",
        json_schema_extra={"x-options": "fields"},
    )
    Pass_if_job_is_gone: bool = Field(
        default=False,
        title="Pass if job is gone",
        description="When the client deletes or hides the check: pass leads (true) or fail "
        "them with a clear flag (false).",
    )


@dataclass(frozen=True)
class MirrorView:
    """What judging may know of a mirror."""

    state: MirrorState
    definition: Mapping[str, Any] | None
    version: int | None
    list_version: int | None
    compiled: CompiledList | None
    subdomain: str
    remote_job_id: int
    stale: bool = False


@runtime_checkable
class MirrorContext(Protocol):
    """A JobContext that can also hand out mirrors."""

    def mirror(self, subdomain: str, campaign_id: int, job_id: int) -> MirrorView | None:
        """The mirror of that client job, if one has been prepared."""
        ...


class _ListAdapter:
    """Lets the client's validation_list logic read the mirrored list."""

    def __init__(self, view: MirrorView, name: str) -> None:
        self.view = view
        self.name = name

    def compiled_list(self, list_id: int) -> CompiledList | None:
        return self.view.compiled

    def list_name(self, list_id: int) -> str:
        return self.name


def _waiting(reason: str) -> JobResult:
    return JobResult(passed=False, flags=[Flag("connect.waiting", reason)], waiting=True)


def _prefix(view: MirrorView, definition: Mapping[str, Any]) -> str:
    label = definition.get("label") or f"job {view.remote_job_id}"
    version = view.list_version if view.list_version is not None else view.version
    return (
        f"Client rule of {view.subdomain} ({label}, {definition.get('operator')} on their field "
        f"{definition.get('field_name')}, version {version}): "
    )


class _ConnectJob:
    """Shared judging of both Connect check types."""

    config_model = ConnectConfig
    tab: Tab = "quality"
    mirrored_type: str = ""
    gone_kind: str = ""

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
        if view.stale:
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
