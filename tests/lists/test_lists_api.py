"""Validation lists through the admin API: versions, change log, CSV import, download."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from leadgate.kit.repository import TenantScope
from leadgate.lists import service
from tests.factories import Api


def _csv(acme: Api, list_id: int, body: bytes, mode: str = "add", **params: str) -> dict:  # type: ignore[type-arg]
    query = "&".join([f"mode={mode}", *(f"{k}={v}" for k, v in params.items())])
    r = acme.call(
        "POST",
        f"/lists/{list_id}/import?{query}",
        content=body,
        headers={"content-type": "text/csv"},
    )
    assert r.status_code == 200, r.text
    result: dict = r.json()  # type: ignore[type-arg]
    return result


def test_create_patch_versions_and_counts(acme: Api) -> None:
    lst = acme.ok(
        "POST", "/lists", 201, json={"name": "Targets", "values": ["Acme", " Globex ", "Acme"]}
    )
    assert lst["version"] == 1 and lst["value_count"] == 2
    out = acme.ok(
        "PATCH", f"/lists/{lst['id']}/values", json={"add": ["Initech"], "remove": ["Acme"]}
    )
    assert out == {"version": 2, "value_count": 2}
    # Nothing really changes: no new version.
    out = acme.ok(
        "PATCH", f"/lists/{lst['id']}/values", json={"add": ["Initech"], "remove": ["Nope"]}
    )
    assert out == {"version": 2, "value_count": 2}
    values = acme.ok("GET", f"/lists/{lst['id']}/values")["items"]
    assert values == ["Globex", "Initech"]


def test_csv_import_bom_crlf_header_and_bad_lines(acme: Api) -> None:
    lst = acme.ok("POST", "/lists", 201, json={"name": "Domains"})
    body = (
        "\ufeffdomain\r\n"
        "acme.com\r\n"
        "\r\n"
        '"globex.com",extra column\r\n' + "x" * 501 + "\r\n"
        "bad\x07value\r\n"
        "acme.com\r\n"
        '"quoted, with comma"\r\n'
    ).encode()
    result = _csv(acme, lst["id"], body)
    assert result["added"] == 3 and result["removed"] == 0
    assert result["version"] == 2 and result["value_count"] == 3
    assert result["rejected"] == [
        {"line": 5, "reason": "longer than 500 characters"},
        {"line": 6, "reason": "contains control characters"},
    ]
    values = acme.ok("GET", f"/lists/{lst['id']}/values")["items"]
    assert values == ["acme.com", "globex.com", "quoted, with comma"]


def test_first_line_kept_when_it_is_a_value(acme: Api) -> None:
    lst = acme.ok("POST", "/lists", 201, json={"name": "Domains"})
    assert _csv(acme, lst["id"], b"acme.com\nglobex.com")["added"] == 2
    lst2 = acme.ok("POST", "/lists", 201, json={"name": "Other"})
    assert _csv(acme, lst2["id"], b"domain\nacme.com", header="no")["added"] == 2


def test_replace_and_remove_modes(acme: Api) -> None:
    lst = acme.ok("POST", "/lists", 201, json={"name": "L", "values": ["a", "b", "c"]})
    r = _csv(acme, lst["id"], b"b\nc\nd\n", mode="replace")
    assert (r["added"], r["removed"], r["value_count"]) == (1, 1, 3)
    r = _csv(acme, lst["id"], b"c\nzzz\n", mode="remove")
    assert (r["added"], r["removed"], r["value_count"]) == (0, 1, 2)
    assert acme.ok("GET", f"/lists/{lst['id']}/values")["items"] == ["b", "d"]


def test_binary_file_is_refused_whole(acme: Api) -> None:
    lst = acme.ok("POST", "/lists", 201, json={"name": "L", "values": ["keep"]})
    for body in (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", b"caf\xe9\nabc"):
        r = acme.call("POST", f"/lists/{lst['id']}/import", content=body)
        assert r.status_code == 422 and r.json()["code"] == "not_text"
    assert acme.ok("GET", f"/lists/{lst['id']}") == {**lst, "value_count": 1}


def test_values_pagination_search_and_download(acme: Api) -> None:
    values = [f"v{i:03d}" for i in range(25)] + ['with "quote"', "with,comma"]
    lst = acme.ok("POST", "/lists", 201, json={"name": "Many", "values": values})
    seen, cursor = [], None
    while True:
        page = acme.ok(
            "GET", f"/lists/{lst['id']}/values?limit=10" + (f"&cursor={cursor}" if cursor else "")
        )
        seen += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(values)
    assert acme.ok("GET", f"/lists/{lst['id']}/values?search=v01")["items"] == [
        f"v01{i}" for i in range(10)
    ]
    r = acme.call("GET", f"/lists/{lst['id']}/download")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    # The download imports back into an identical list.
    copy = acme.ok("POST", "/lists", 201, json={"name": "Copy"})
    result = _csv(acme, copy["id"], r.content)
    assert result["added"] == len(values) and result["rejected"] == []
    assert acme.ok("GET", f"/lists/{copy['id']}/values?limit=100")["items"] == sorted(values)


def test_delete_refused_while_a_job_uses_it(acme: Api) -> None:
    cid = acme.campaign()["id"]
    lst = acme.ok("POST", "/lists", 201, json={"name": "L", "values": ["x"]})
    job = acme.ok(
        "POST",
        f"/campaigns/{cid}/jobs",
        201,
        json={
            "type": "validation_list",
            "config": {
                "list_id": lst["id"],
                "field_name": "company",
                "operator": "equal",
                "rule": "pass",
            },
        },
    )
    r = acme.call("DELETE", f"/lists/{lst['id']}")
    assert r.status_code == 409 and r.json()["code"] == "list_in_use"
    assert r.json()["job_ids"] == [job["id"]]
    acme.ok("DELETE", f"/campaigns/{cid}/jobs/{job['id']}", 204)
    acme.ok("DELETE", f"/lists/{lst['id']}", 204)
    assert acme.call("GET", f"/lists/{lst['id']}").status_code == 404


def test_change_log_answers_deltas(acme: Api, sessions: sessionmaker[Session]) -> None:
    lst = acme.ok("POST", "/lists", 201, json={"name": "L", "values": ["a", "b"]})
    acme.ok("PATCH", f"/lists/{lst['id']}/values", json={"add": ["c"]})  # v2
    acme.ok("PATCH", f"/lists/{lst['id']}/values", json={"remove": ["a"]})  # v3
    acme.ok("PATCH", f"/lists/{lst['id']}/values", json={"add": ["a"], "remove": ["c"]})  # v4
    with sessions() as s:
        scope = TenantScope(s, acme.instance_id)
        row = service.get(scope, lst["id"])
        d = service.changes_since(s, row, 1)
        assert d is not None and (sorted(d.added or []), d.removed) == (["a"], ["c"])
        d = service.changes_since(s, row, 3)
        assert d is not None and (d.added, d.removed) == (["a"], ["c"])
        d = service.changes_since(s, row, 4)
        assert d is not None and (d.added, d.removed) == ([], [])
        assert service.changes_since(s, row, 0) is None  # before the first version: full
        assert service.changes_since(s, row, 9) is None  # unknown version: full


def test_big_change_is_a_reset(acme: Api, sessions: sessionmaker[Session]) -> None:
    lst = acme.ok("POST", "/lists", 201, json={"name": "L", "values": ["a"]})
    body = "\n".join(f"value-{i}" for i in range(service.RESET_THRESHOLD + 1)).encode()
    assert _csv(acme, lst["id"], body)["version"] == 2
    acme.ok("PATCH", f"/lists/{lst['id']}/values", json={"add": ["z"]})
    with sessions() as s:
        row = service.get(TenantScope(s, acme.instance_id), lst["id"])
        assert service.changes_since(s, row, 1) is None
        d = service.changes_since(s, row, 2)
        assert d is not None and d.added == ["z"]
