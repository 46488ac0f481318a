"""Connect jobs judge with the mirror exactly as the client's job would (pure, no database)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from leadgate.jobs.connect_mirror import (
    ConnectConfig,
    ConnectSimpleConditionalJob,
    ConnectValidationListJob,
    MirrorView,
)
from leadgate.jobs.validation_list import ValidationListConfig, ValidationListJob
from leadgate.lists.matcher import compile_list
from leadgate.processr.plugin import StaticContext

CONFIG = ConnectConfig(
    API_Key="lgp_secret_key",
    Subdomain="acme",
    Campaign=3,
    Campaign_Processr_Job=7,
    Field_name="companyName",
)
LIST_DEF = {
    "id": 7,
    "type": "validation_list",
    "label": "Target Accounts check",
    "field_name": "company",
    "operator": "equal",
    "rule": "pass",
    "case_sensitive": False,
    "trim": True,
    "version": 2,
    "list": {"name": "Target Accounts", "version": 5, "value_count": 2},
}


@dataclass
class Mirrors(StaticContext):
    views: dict[tuple[str, int, int], MirrorView] = field(default_factory=dict)
    max_staleness_s: float | None = None

    def mirror(self, subdomain: str, campaign_id: int, job_id: int) -> MirrorView | None:
        return self.views.get((subdomain, campaign_id, job_id))


def ctx_with(
    definition: dict[str, Any] | None,
    state: str = "ok",
    values: list[str] | None = None,
    stale: bool = False,
) -> Mirrors:
    ctx = Mirrors(max_staleness_s=60.0)
    synced = datetime.now(UTC) - timedelta(seconds=3600 if stale else 1)
    ctx.views[("acme", 3, 7)] = MirrorView(
        state=state,  # type: ignore[arg-type]
        definition=definition,
        version=2,
        list_version=5 if values is not None else None,
        compiled=compile_list(values) if values is not None else None,
        subdomain="acme",
        remote_job_id=7,
        synced_at=synced,
    )
    return ctx


def test_same_verdict_as_the_clients_job() -> None:
    values = ["Acme", "Globex", "Initech"]
    mirror = ctx_with(LIST_DEF, values=values)
    client = StaticContext()
    client.add_list(1, "Target Accounts", values)
    client_cfg = ValidationListConfig(
        list_id=1, field_name="company", operator="equal", rule="pass"
    )
    for value in ["acme", " Globex ", "Umbrella", "", "INITECH"]:
        ours = ConnectValidationListJob().run({"companyName": value}, CONFIG, mirror)
        theirs = ValidationListJob().run({"company": value}, client_cfg, client)
        assert ours.passed == theirs.passed, value
        assert ours.mirror_version == 5


def test_flag_carries_the_clients_wording_and_origin() -> None:
    result = ConnectValidationListJob().run(
        {"companyName": "Umbrella"}, CONFIG, ctx_with(LIST_DEF, values=["Acme"])
    )
    (flag,) = result.flags
    assert flag.code == "connect.criteria_not_met"
    assert flag.message.startswith(
        "Client rule of acme (Target Accounts check, equal on their field company, version 5): "
    )
    assert flag.message.endswith(
        "The lead value does not equal any values on the validation "
        "list Target Accounts on the field companyName"
    )


def test_gone_passes_or_fails_as_configured() -> None:
    ctx = ctx_with(LIST_DEF, state="gone", values=["Acme"])
    failed = ConnectValidationListJob().run({"companyName": "Acme"}, CONFIG, ctx)
    assert not failed.passed and failed.flags[0].code == "connect.job_gone"
    assert "job 7 on acme has been deleted" in failed.flags[0].message
    lenient = CONFIG.model_copy(update={"Pass_if_job_is_gone": True})
    assert ConnectValidationListJob().run({"companyName": "x"}, lenient, ctx).passed


def test_no_mirror_yet_waits_never_passes() -> None:
    for ctx in (
        Mirrors(),
        ctx_with(None, state="pending"),
        ctx_with(None, state="unavailable"),
        StaticContext(),
    ):
        result = ConnectValidationListJob().run({"companyName": "Acme"}, CONFIG, ctx)
        assert result.waiting and not result.passed


def test_unavailable_keeps_judging_with_last_good_mirror() -> None:
    ctx = ctx_with(LIST_DEF, state="unavailable", values=["Acme"])
    assert ConnectValidationListJob().run({"companyName": "acme"}, CONFIG, ctx).passed


def test_stale_mirror_holds_the_lead() -> None:
    ctx = ctx_with(LIST_DEF, values=["Acme"], stale=True)
    assert ConnectValidationListJob().run({"companyName": "acme"}, CONFIG, ctx).waiting


def test_simple_conditional_mirror() -> None:
    definition = {
        "id": 7,
        "type": "simple_conditional_validation",
        "label": "US only",
        "field_name": "country",
        "operator": "EQUAL",
        "case_sensitive": True,
        "values": ["US", "CA"],
        "version": 4,
    }
    ctx = ctx_with(definition)
    job = ConnectSimpleConditionalJob()
    assert job.run({"companyName": "US"}, CONFIG, ctx).passed
    result = job.run({"companyName": "us"}, CONFIG, ctx)  # case-sensitive like the client
    assert not result.passed and result.mirror_version == 2
    assert (
        "The field companyName with the operator EQUAL was not found in the list of values. "
        "The value supplied was us" in result.flags[0].message
    )
