"""The engine: order, groups, scoring thresholds, hard fails, waiting, bad configs."""

from collections.abc import Mapping
from typing import Any, Literal

import pytest
from pydantic import BaseModel

from leadgate.jobs.registry import builtin_registry
from leadgate.jobs.required_fields import RequiredFieldsConfig
from leadgate.processr.engine import FlagOut, GroupCondition, JobRun, JobSpec, judge
from leadgate.processr.plugin import Flag, JobContext, JobResult, StaticContext, Tab


class StubConfig(BaseModel):
    outcome: Literal["pass", "fail", "wait", "silent_fail"] = "pass"


class StubJob:
    """Does what its config says."""

    config_model = StubConfig
    type = "stub"
    title = "Stub"
    tab: Tab = "quality"

    def run(self, data: Mapping[str, Any], config: StubConfig, ctx: JobContext) -> JobResult:
        if config.outcome == "pass":
            return JobResult(passed=True, mirror_version=7)
        if config.outcome == "wait":
            return JobResult(
                passed=False, waiting=True, flags=[Flag("stub.wait", "mirror not ready")]
            )
        if config.outcome == "silent_fail":
            return JobResult(passed=False)
        return JobResult(passed=False, flags=[Flag("stub.failed", "the stub failed")])


REGISTRY = builtin_registry()
REGISTRY.register(StubJob())


def stub(job_id: int, outcome: str = "pass", **spec: Any) -> JobSpec:
    spec.setdefault("position", job_id)
    return JobSpec(id=job_id, type="stub", config={"outcome": outcome}, **spec)


def verdict_of(*jobs: JobSpec, data: dict[str, Any] | None = None) -> Any:
    return judge(data or {}, list(jobs), StaticContext(), REGISTRY)


def test_all_pass_is_valid() -> None:
    verdict = verdict_of(stub(1), stub(2))
    assert (verdict.status, verdict.score, verdict.max_score) == ("valid", 20, 20)
    assert verdict.reason == "score 20/20 (100%)"
    assert verdict.jobs == [JobRun(1, "stub", True, 7), JobRun(2, "stub", True, 7)]
    assert verdict.flags == []


@pytest.mark.parametrize(
    ("passing", "failing", "status"),
    [
        (4, 1, "caution"),
        (9, 1, "caution"),
        (3, 1, "invalid"),
        (79, 21, "invalid"),
        (80, 20, "caution"),
        (99, 1, "caution"),
    ],
)
def test_thresholds(passing: int, failing: int, status: str) -> None:
    jobs = [stub(i, score=1) for i in range(passing)]
    jobs += [stub(passing + i, "fail", score=1) for i in range(failing)]
    assert verdict_of(*jobs).status == status


def test_exactly_80_percent_is_caution_and_reasons_read_well() -> None:
    verdict = verdict_of(stub(1, score=40), stub(2, score=40), stub(3, "fail", score=20))
    assert (verdict.status, verdict.score, verdict.max_score) == ("caution", 80, 100)
    assert verdict.reason == "score 80/100 (80%) at least 80% but below 100%"
    low = verdict_of(stub(1), stub(2), stub(3, "fail", score=15))
    assert (low.status, low.reason) == ("invalid", "score 20/35 (57%) below 80%")


def test_scores_are_weights() -> None:
    verdict = verdict_of(stub(1, score=90), stub(2, "fail", score=10))
    assert (verdict.status, verdict.score, verdict.max_score) == ("caution", 90, 100)


def test_hardfail_is_invalid_whatever_the_score() -> None:
    verdict = verdict_of(stub(1, score=100), stub(2, "fail", score=1, hardfail=True))
    assert verdict.status == "invalid"
    assert verdict.reason == "hard fail: Stub (job 2)"  # the type's title: people read it
    assert verdict.flags == [FlagOut(2, "stub", "stub.failed", "the stub failed")]


def test_a_passing_hardfail_job_changes_nothing() -> None:
    assert verdict_of(stub(1, hardfail=True)).status == "valid"


def test_zero_score_failure_only_flags() -> None:
    verdict = verdict_of(stub(1, score=0), stub(2, "fail", score=0))
    assert (verdict.status, verdict.score, verdict.max_score) == ("valid", 0, 0)
    assert [f.code for f in verdict.flags] == ["stub.failed"]


def test_failure_without_flags_gets_a_generic_flag() -> None:
    assert verdict_of(stub(1, "silent_fail")).flags == [
        FlagOut(1, "stub", "job.failed", "The job Stub failed")
    ]


def test_a_campaign_that_checks_nothing_is_valid() -> None:
    verdict = verdict_of()
    assert (verdict.status, verdict.score, verdict.max_score) == ("valid", 0, 0)
    assert verdict.reason.startswith("no jobs")
    only_integration = verdict_of(stub(1, tab="integration"))
    assert only_integration.status == "valid"
    assert only_integration.integration_job_ids == [1]


def test_waiting_job_keeps_the_lead_pending() -> None:
    verdict = verdict_of(stub(1), stub(2, "wait"), stub(3, "fail"))
    assert verdict.status == "pending"
    assert verdict.reason == "waiting: Stub (job 2) cannot judge yet: mirror not ready"
    assert verdict.waiting_job_ids == [2]
    assert [j.job_id for j in verdict.jobs] == [1, 3]
    assert (verdict.score, verdict.max_score) == (10, 20)


def test_hardfail_wins_over_waiting() -> None:
    verdict = verdict_of(stub(1, "wait"), stub(2, "fail", hardfail=True))
    assert verdict.status == "invalid"


def test_order_is_tab_then_position_and_integration_jobs_are_returned() -> None:
    jobs = [
        JobSpec(id=1, type="stub", config={}, position=1, tab="integration"),
        JobSpec(id=2, type="stub", config={"outcome": "fail"}, position=5, tab="enrichment"),
        JobSpec(id=3, type="stub", config={"outcome": "fail"}, position=9, tab="quality"),
        JobSpec(id=4, type="stub", config={"outcome": "fail"}, position=2, tab="quality"),
        JobSpec(id=5, type="stub", config={}, position=0, tab="integration"),
    ]
    verdict = verdict_of(*jobs)
    assert [f.job_id for f in verdict.flags] == [4, 3, 2]
    assert [j.job_id for j in verdict.jobs] == [4, 3, 2]
    assert verdict.integration_job_ids == [5, 1]


def grouped(job_id: int, values: list[str] | None, outcome: str = "pass", **spec: Any) -> JobSpec:
    condition = GroupCondition("state", values) if values is not None else None
    return stub(job_id, outcome, group="by-state", condition=condition, **spec)


GROUP = [
    grouped(1, ["CA", "NV"], "fail", score=30),
    grouped(2, ["ca", "TX"], "pass", score=50),
    grouped(3, None, "pass", score=5, catch_all=True),
]


def test_group_runs_only_the_first_matching_job() -> None:
    verdict = verdict_of(stub(10, position=0), *GROUP, data={"state": " ca "})
    assert [j.job_id for j in verdict.jobs] == [10, 1]
    assert verdict.skipped_job_ids == [2, 3]
    assert (verdict.score, verdict.max_score) == (10, 40)


def test_group_matches_later_condition() -> None:
    verdict = verdict_of(*GROUP, data={"state": "Tx"})
    assert [j.job_id for j in verdict.jobs] == [2]
    assert (verdict.status, verdict.max_score) == ("valid", 50)


def test_group_catch_all_runs_when_nothing_matches() -> None:
    verdict = verdict_of(*GROUP, data={"state": "NY"})
    assert [j.job_id for j in verdict.jobs] == [3]
    assert verdict.max_score == 5
    assert verdict_of(*GROUP).jobs == [JobRun(3, "stub", True, 7)]


def test_group_without_catch_all_is_skipped() -> None:
    verdict = verdict_of(stub(10), *GROUP[:2], data={"state": "NY"})
    assert [j.job_id for j in verdict.jobs] == [10]
    assert verdict.max_score == 10
    alone = verdict_of(*GROUP[:2], data={"state": "NY"})
    assert (alone.status, alone.reason) == (
        "pending",
        "no jobs ran: all were skipped by group conditions",
    )


def test_group_order_follows_position_not_list_order() -> None:
    jobs = [grouped(1, ["CA"], "fail", position=9), grouped(2, ["CA"], "pass", position=3)]
    assert [j.job_id for j in verdict_of(*jobs, data={"state": "CA"}).jobs] == [2]


def test_groups_select_integration_jobs_too() -> None:
    jobs = [
        stub(1),
        grouped(2, ["CA"], tab="integration"),
        grouped(3, None, tab="integration", catch_all=True),
    ]
    assert verdict_of(*jobs, data={"state": "CA"}).integration_job_ids == [2]
    assert verdict_of(*jobs, data={"state": "NY"}).integration_job_ids == [3]


def test_misconfigured_job_fails_instead_of_crashing() -> None:
    jobs = [
        JobSpec(id=1, type="required_fields", config={"fields": []}, hardfail=True),
        JobSpec(id=2, type="validation_list", config={"list_id": "x"}),
    ]
    verdict = verdict_of(*jobs)
    assert verdict.status == "invalid"
    assert [(f.job_id, f.code) for f in verdict.flags] == [
        (1, "job.misconfigured"),
        (2, "job.misconfigured"),
    ]
    assert verdict.flags[0].message == (
        "The job is misconfigured: fields: List should have at least 1 item after validation, not 0"
    )
    assert verdict.flags[1].message.endswith("(and 2 more problems)")


def test_unknown_type_fails_the_job() -> None:
    verdict = verdict_of(JobSpec(id=1, type="gone_type", config={}))
    assert verdict.flags == [
        FlagOut(
            1,
            "gone_type",
            "job.unknown_type",
            "The job type gone_type is not available on this server",
        )
    ]


def test_pre_validated_configs_are_accepted() -> None:
    config = RequiredFieldsConfig(fields=["email"])
    jobs = [JobSpec(id=1, type="required_fields", config=config)]
    assert verdict_of(*jobs, data={"email": "a@b.c"}).status == "valid"
    assert verdict_of(*jobs).status == "invalid"


def test_real_jobs_end_to_end() -> None:
    ctx = StaticContext()
    ctx.add_list(5, "Competitors", ["globex.com"])
    jobs = [
        JobSpec(
            id=1, type="required_fields", config={"fields": ["email", "company"]}, hardfail=True
        ),
        JobSpec(
            id=2,
            type="validation_list",
            config={"list_id": 5, "field_name": "email", "operator": "endswith", "rule": "fail"},
            position=1,
        ),
        JobSpec(
            id=3,
            type="simple_conditional_validation",
            config={"field_name": "employees", "operator": "GREATERTHAN", "values": ["50"]},
            position=2,
        ),
    ]
    lead = {"email": "ann@globex.com", "company": "Globex", "employees": 500}
    verdict = judge(lead, jobs, ctx)
    assert (verdict.status, verdict.score, verdict.max_score) == ("invalid", 20, 30)
    assert verdict.flags == [
        FlagOut(
            2,
            "validation_list",
            "validation_list.match",
            "The lead value ends with a value on the suppression list Competitors on the field "
            "email (matched value: globex.com)",
        )
    ]
    assert verdict.as_dict()["flags"][0]["code"] == "validation_list.match"


def test_negative_scores_are_refused() -> None:
    with pytest.raises(ValueError):
        stub(1, score=-1)
