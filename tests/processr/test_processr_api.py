"""The Processr over the API: jobs, judging, flags, history, re-judging."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from leadgate.leads.models import Lead
from leadgate.leads.tasks import rejudge_now
from leadgate.worker.db import configure
from tests.factories import Api


def _job(acme: Api, cid: int, type_: str, config: dict[str, Any], **extra: Any) -> dict[str, Any]:
    job: dict[str, Any] = acme.ok(
        "POST", f"/campaigns/{cid}/jobs", 201, json={"type": type_, "config": config, **extra}
    )
    return job


def _lead(acme: Api, cid: int, **data: Any) -> dict[str, Any]:
    lead: dict[str, Any] = acme.ok("POST", f"/campaigns/{cid}/leads", 201, json={"data": data})
    return lead


def test_job_types_expose_config_schemas(acme: Api) -> None:
    types = {t["type"]: t for t in acme.ok("GET", "/job-types")}
    assert {
        "validation_list",
        "simple_conditional_validation",
        "conditional_validation",
        "required_fields",
    } <= set(types)
    schema = types["validation_list"]["config_schema"]
    assert {"list_id", "field_name", "operator", "rule"} <= set(schema["properties"])
    assert types["validation_list"]["tab"] == "quality"


def test_a_campaign_without_jobs_takes_its_leads_as_valid(acme: Api) -> None:
    cid = acme.campaign()["id"]
    lead = _lead(acme, cid, email="a@b.example")
    assert (lead["status"], lead["score"], lead["max_score"], lead["flags"]) == ("valid", 0, 0, [])
    judged = [h for h in lead["history"] if h["event"] == "judged"]
    assert "checks nothing" in judged[-1]["detail"]["reason"]


def test_acceptance_list_flags_with_market_wording(acme: Api) -> None:
    cid = acme.campaign()["id"]
    lst = acme.ok(
        "POST", "/lists", 201, json={"name": "Target Accounts", "values": ["Acme", "Globex"]}
    )
    job = _job(
        acme,
        cid,
        "validation_list",
        {"list_id": lst["id"], "field_name": "company", "operator": "equal", "rule": "pass"},
    )
    good = _lead(acme, cid, company="acme")  # case-insensitive by default
    assert (good["status"], good["score"], good["max_score"]) == ("valid", 10, 10)
    assert good["jobs"] == [
        {"job_id": job["id"], "type": "validation_list", "passed": True, "mirror_version": None}
    ]
    bad = _lead(acme, cid, company="Initech")
    assert bad["status"] == "invalid"
    assert bad["flags"] == [
        {
            "job_id": job["id"],
            "job_type": "validation_list",
            "code": "validation_list.no_match",
            "message": "The lead value does not equal any values on the validation list "
            "Target Accounts on the field company",
        }
    ]
    events = [h["event"] for h in bad["history"]]
    assert events == ["received", "judged", "status_changed"]
    assert bad["history"][-1]["detail"]["to"] == "invalid"


def test_scoring_caution_and_hardfail(acme: Api) -> None:
    cid = acme.campaign()["id"]
    _job(acme, cid, "required_fields", {"fields": ["email"]}, score=10)
    _job(
        acme,
        cid,
        "simple_conditional_validation",
        {"field_name": "country", "operator": "EQUAL", "values": ["US", "GB"]},
        score=40,
    )
    _job(
        acme,
        cid,
        "simple_conditional_validation",
        {"field_name": "employees", "operator": "GREATERTHAN", "values": ["10"]},
        score=50,
    )
    lead = _lead(acme, cid, country="US", employees=50)  # email missing: 90/100
    assert (lead["status"], lead["score"], lead["max_score"]) == ("caution", 90, 100)
    assert [f["code"] for f in lead["flags"]] == ["required_fields.missing"]
    lead = _lead(acme, cid, email="x@y", country="DE", employees=50)  # 60/100
    assert lead["status"] == "invalid"
    jobs = acme.ok("GET", f"/campaigns/{cid}/jobs")["items"]
    acme.ok("PATCH", f"/campaigns/{cid}/jobs/{jobs[0]['id']}", json={"hardfail": True})
    lead = _lead(acme, cid, country="US", employees=50)  # 90/100 but a hard fail
    assert lead["status"] == "invalid"


def test_groups_run_one_job_per_lead(acme: Api) -> None:
    cid = acme.campaign()["id"]
    us = _job(
        acme,
        cid,
        "simple_conditional_validation",
        {"field_name": "employees", "operator": "GREATERTHAN", "values": ["100"]},
        group="size",
        condition={"field": "country", "values": "US; CA"},
    )
    rest = _job(
        acme,
        cid,
        "simple_conditional_validation",
        {"field_name": "employees", "operator": "GREATERTHAN", "values": ["10"]},
        group="size",
        catch_all=True,
    )
    lead = _lead(acme, cid, country="us", employees=50)
    assert [j["job_id"] for j in lead["jobs"]] == [us["id"]] and lead["status"] == "invalid"
    lead = _lead(acme, cid, country="DE", employees=50)
    assert [j["job_id"] for j in lead["jobs"]] == [rest["id"]] and lead["status"] == "valid"


def test_bad_job_definitions_are_clear_4xx(acme: Api) -> None:
    cid = acme.campaign()["id"]
    cases = [
        ({"type": "nope", "config": {}}, "unknown_job_type"),
        ({"type": "required_fields", "config": {"fields": []}}, "invalid_request"),
        ({"type": "required_fields", "config": {"fields": ["shoeSize"]}}, "unknown_fields"),
        (
            {
                "type": "validation_list",
                "config": {
                    "list_id": 999999,
                    "field_name": "company",
                    "operator": "equal",
                    "rule": "pass",
                },
            },
            "list_not_found",
        ),
        (
            {
                "type": "simple_conditional_validation",
                "config": {"field_name": "company", "operator": "EQUAL", "values": ["x"] * 201},
            },
            "invalid_request",
        ),
        (
            {"type": "required_fields", "config": {"fields": ["email"]}, "catch_all": True},
            "invalid_group",
        ),
        (
            {"type": "required_fields", "config": {"fields": ["email"]}, "tab": "integration"},
            "invalid_tab",
        ),
    ]
    for body, code in cases:
        r = acme.call("POST", f"/campaigns/{cid}/jobs", json=body)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["code"] == code, (body, r.json())
    assert acme.ok("GET", f"/campaigns/{cid}/jobs")["items"] == []


def test_reorder_and_positions(acme: Api) -> None:
    cid = acme.campaign()["id"]
    a = _job(acme, cid, "required_fields", {"fields": ["email"]}, label="A")
    b = _job(acme, cid, "required_fields", {"fields": ["company"]}, label="B")
    c = _job(acme, cid, "required_fields", {"fields": ["country"]}, label="C", position=1)
    labels = [j["label"] for j in acme.ok("GET", f"/campaigns/{cid}/jobs")["items"]]
    assert labels == ["C", "A", "B"]
    acme.ok("POST", f"/campaigns/{cid}/jobs/reorder", json={"job_ids": [b["id"], a["id"], c["id"]]})
    items = acme.ok("GET", f"/campaigns/{cid}/jobs")["items"]
    assert [j["label"] for j in items] == ["B", "A", "C"]
    assert [j["position"] for j in items] == [1, 2, 3]
    r = acme.call("POST", f"/campaigns/{cid}/jobs/reorder", json={"job_ids": [a["id"]]})
    assert r.status_code == 422 and r.json()["code"] == "invalid_order"
    patched = acme.ok(
        "PATCH", f"/campaigns/{cid}/jobs/{a['id']}", json={"config": {"fields": ["firstName"]}}
    )
    assert patched["version"] == 2


def test_list_change_changes_the_verdict_and_reprocess(acme: Api) -> None:
    cid = acme.campaign()["id"]
    lst = acme.ok("POST", "/lists", 201, json={"name": "Competitors", "values": ["rival.com"]})
    _job(
        acme,
        cid,
        "validation_list",
        {"list_id": lst["id"], "field_name": "email", "operator": "endswith", "rule": "fail"},
    )
    lead = _lead(acme, cid, email="kim@upstart.io")
    assert lead["status"] == "valid"
    acme.ok("PATCH", f"/lists/{lst['id']}/values", json={"add": ["upstart.io"]})
    again = acme.ok("POST", f"/leads/{lead['id']}/reprocess")
    assert again["status"] == "invalid"
    assert again["flags"][0]["code"] == "validation_list.match"
    assert "Competitors" in again["flags"][0]["message"]
    assert again["history"][-1]["event"] == "status_changed"
    assert again["history"][-1]["detail"]["by"] == "processr"


def test_crash_before_judging_is_recovered(
    acme: Api, sessions: sessionmaker[Session], database_url: str
) -> None:
    cid = acme.campaign()["id"]
    _job(acme, cid, "required_fields", {"fields": ["email"]})
    lead = _lead(acme, cid, email="a@b")
    # Simulate a process that died after committing the lead and before judging it.
    with sessions() as s:
        s.execute(
            update(Lead).where(Lead.id == lead["id"]).values(judged_at=None, status="pending")
        )
        s.commit()
    configure(database_url)
    assert rejudge_now(timedelta(seconds=0)) >= 1
    recovered = acme.ok("GET", f"/leads/{lead['id']}")
    assert recovered["status"] == "valid"
    assert recovered["history"][-2]["detail"]["trigger"] == "recovered after a crash"
    assert rejudge_now(timedelta(seconds=0)) == 0


def test_patch_merges_a_partial_config(acme: Api) -> None:
    """RFC 7396: keys present replace, null removes (the default returns), absent keys stay."""
    cid = acme.campaign()["id"]
    lst = acme.ok("POST", "/lists", 201, json={"name": "Targets", "values": ["Acme"]})
    full = {"list_id": lst["id"], "field_name": "company", "operator": "equal", "rule": "pass"}
    job = acme.ok(
        "POST",
        f"/campaigns/{cid}/jobs",
        201,
        json={"type": "validation_list", "config": {**full, "case_sensitive": True}},
    )
    url = f"/campaigns/{cid}/jobs/{job['id']}"
    patched = acme.ok("PATCH", url, json={"config": {"rule": "fail"}})
    assert patched["config"] == {**full, "rule": "fail", "case_sensitive": True, "trim": True}
    assert patched["version"] == job["version"] + 1
    reset = acme.ok("PATCH", url, json={"config": {"case_sensitive": None}})
    assert reset["config"]["case_sensitive"] is False and reset["config"]["rule"] == "fail"
    assert _lead(acme, cid, company="Acme")["status"] == "invalid"  # suppression now
    # Removing a required key is refused with the key named, and nothing changes.
    r = acme.call("PATCH", url, json={"config": {"field_name": None}})
    assert r.status_code == 422 and "field_name" in r.json()["detail"]
    assert acme.ok("GET", url)["config"] == reset["config"]
    # The whole config still works as before.
    assert acme.ok("PATCH", url, json={"config": full})["config"]["rule"] == "pass"
