"""`GET /leads/export`: CSV with the fixed columns and the campaign's form, filtered, streamed a
page at a time, quoted by the csv module, formulas neutralised, one instance's leads only."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from leadgate.leads import export
from tests.factories import Api

FIELDS = [{"name": "company"}, {"name": "email"}, {"name": "note"}, {"name": "status"}]


def rows_of(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def world(api: Api) -> tuple[int, dict[str, Any], str, list[dict[str, Any]]]:
    cid = api.campaign("Export", FIELDS)["id"]
    api.ok(
        "POST",
        f"/campaigns/{cid}/jobs",
        201,
        json={"type": "required_fields", "config": {"fields": ["email"]}},
    )
    pub, key = api.publisher('Affiliate, "Quoted" Ltd')
    api.ok("PUT", f"/campaigns/{cid}/publishers/{pub['id']}", 204)
    bodies = [
        {"company": "Acme", "email": "a@acme.example"},
        {"company": '=HYPERLINK("http://evil.example")', "note": "line one\nline, two"},
        {"company": "+1 555", "email": "-x@y.example", "note": "@SUM(A1)", "status": "x"},
    ]
    leads = [
        api.ok(
            "POST",
            f"/publisher/campaigns/{cid}/leads",
            201,
            secret=key["key"],
            json={"data": body},
        )
        for body in bodies
    ]
    admin = api.ok(
        "POST",
        f"/campaigns/{cid}/leads",
        201,
        json={"data": {"company": "Own", "email": "o@x.example"}},
    )
    return cid, pub, key["key"], [*leads, admin]


def test_columns_quoting_and_formula_neutralising(acme: Api) -> None:
    cid, _, _, leads = world(acme)
    r = acme.call("GET", f"/leads/export?campaign_id={cid}")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    assert "attachment" in r.headers["content-disposition"]
    header = next(csv.reader(io.StringIO(r.text)))
    assert header == [
        "id", "created_at", "campaign", "status", "score", "publisher",
        "company", "email", "note", "field:status", "flags", "flag_codes", "reason",
    ]  # fmt: skip
    rows = rows_of(r.text)
    assert [int(row["id"]) for row in rows] == [lead["id"] for lead in leads]
    first, hostile, signs, own = rows
    assert first["status"] == "valid" and first["score"] == "10" and first["flags"] == ""
    assert first["publisher"] == 'Affiliate, "Quoted" Ltd' and first["campaign"] == "Export"
    created = datetime.fromisoformat(first["created_at"])
    assert abs(created - datetime.now(UTC)) < timedelta(minutes=5)
    assert hostile["company"] == '\'=HYPERLINK("http://evil.example")'
    assert hostile["note"] == "line one\nline, two"  # quoted by the csv module, read back whole
    assert hostile["status"] == "invalid" and hostile["flag_codes"] == "required_fields.missing"
    assert "email" in hostile["flags"]
    assert (signs["company"], signs["email"], signs["note"]) == (
        "'+1 555",
        "'-x@y.example",
        "'@SUM(A1)",
    )
    assert signs["field:status"] == "x"
    assert own["publisher"] == "" and own["company"] == "Own"
    # The exact values on request.
    raw = rows_of(acme.call("GET", f"/leads/export?campaign_id={cid}&neutralise=false").text)
    assert raw[1]["company"] == '=HYPERLINK("http://evil.example")'


def test_filters(acme: Api) -> None:
    cid, pub, _, leads = world(acme)
    other_cid = acme.campaign("Other", [{"name": "zip"}])["id"]
    acme.ok("POST", f"/campaigns/{other_cid}/leads", 201, json={"data": {"zip": "90210"}})

    def ids(query: str) -> list[int]:
        r = acme.call("GET", f"/leads/export?{query}")
        assert r.status_code == 200, r.text
        return [int(row["id"]) for row in rows_of(r.text)]

    assert ids(f"campaign_id={cid}&status=invalid") == [leads[1]["id"]]
    assert ids(f"campaign_id={cid}&status=invalid&status=valid") == [x["id"] for x in leads]
    assert ids(f"campaign_id={cid}&publisher_id={pub['id']}") == [x["id"] for x in leads[:3]]
    today = datetime.now(UTC).date()
    assert len(ids(f"campaign_id={cid}&from={today}&to={today}")) == 4
    assert ids(f"campaign_id={cid}&to={today - timedelta(days=1)}") == []
    assert ids(f"campaign_id={cid}&from={today + timedelta(days=1)}") == []
    # No campaign: every campaign's leads, with every campaign's fields.
    r = acme.call("GET", "/leads/export")
    header = next(csv.reader(io.StringIO(r.text)))
    assert "zip" in header and "company" in header and len(rows_of(r.text)) == 5
    for query, code in (
        ("status=nope", "invalid_request"),
        ("from=yesterday", "invalid_request"),
        ("campaign_id=0", "invalid_request"),
    ):
        r = acme.call("GET", f"/leads/export?{query}")
        assert r.status_code == 422 and r.json()["code"] == code, query


def test_streamed_in_pages(acme: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    cid, _, _, leads = world(acme)
    monkeypatch.setattr(export, "BATCH", 1)
    path = f"{acme.base}/leads/export?campaign_id={cid}"
    headers = {"Authorization": f"Bearer {acme.token}", "Accept-Encoding": "identity"}
    with acme.client.stream("GET", path, headers=headers) as r:
        assert r.status_code == 200
        parts = [p for p in r.iter_raw() if p]
    # The header, then one part per page of one lead: the answer came in pieces.
    assert len(parts) == 1 + len(leads)
    assert len(rows_of(b"".join(parts).decode())) == len(leads)


def test_one_instance_only(acme: Api, other: Api) -> None:
    cid, pub, _, _ = world(acme)
    other.campaign("Theirs", FIELDS)
    assert other.call("GET", f"/leads/export?campaign_id={cid}").json()["code"] == (
        "campaign_not_found"
    )
    r = other.call("GET", f"/leads/export?publisher_id={pub['id']}")
    assert r.status_code == 404 and r.json()["code"] == "publisher_not_found"
    everything = other.call("GET", "/leads/export")
    assert everything.status_code == 200 and rows_of(everything.text) == []
    assert "Acme" not in everything.text


def test_the_cli_writes_the_same_file(acme: Api, database_url: str, tmp_path: Path) -> None:
    cid, _, _, leads = world(acme)
    out = tmp_path / "leads.csv"
    env = {**os.environ, "DATABASE_URL": database_url}
    command = [sys.executable, "-m", "leadgate", "leads", "export", "--instance", acme.subdomain]
    done = subprocess.run(
        [*command, "--campaign", str(cid), "--status", "invalid", "--status", "valid",
         "--out", str(out)],
        capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["leads"] == len(leads) and summary["columns"][:2] == ["id", "created_at"]
    assert "exporting to leads.csv" in done.stderr  # the progress bar
    api = acme.call("GET", f"/leads/export?campaign_id={cid}").content
    assert out.read_bytes() == api
    bad = subprocess.run(
        [*command, "--campaign", "999999999", "--out", str(out)],
        capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip
    assert bad.returncode == 2 and "campaign_not_found" in bad.stderr
