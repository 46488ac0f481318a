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


def test_values_that_are_not_unicode_are_refused_by_position(acme: Api) -> None:
    """A lone surrogate (`"x\\ud800y"`) is no text PostgreSQL can hold: 422 naming the value,
    nothing changed (it answered 500)."""
    lst = acme.ok("POST", "/lists", 201, json={"name": "L", "values": ["keep"]})
    for method, path, body, where in (
        ("POST", "/lists", b'{"name": "M", "values": ["a", "b", "x\\ud800y"]}', "values.2"),
        ("PATCH", f"/lists/{lst['id']}/values", b'{"add": ["\\udc01"]}', "add.0"),
        (
            "PATCH",
            f"/lists/{lst['id']}/values",
            b'{"add": ["a"], "remove": ["b", "\\ud800"]}',
            "remove.1",
        ),
    ):
        r = acme.call(method, path, content=body, headers={"content-type": "application/json"})
        assert r.status_code == 422, r.text
        assert r.json()["errors"][0]["loc"] == ["body", *where.split(".")]
        assert r.json()["detail"].startswith(f"{where}: ")
    # In a CSV file a surrogate cannot even be spelled in UTF-8: the file is refused whole.
    r = acme.call(
        "POST",
        f"/lists/{lst['id']}/import",
        content=b"fine\nx\xed\xa0\x80y\n",
        headers={"content-type": "text/csv"},
    )
    assert r.status_code == 422 and r.json()["code"] == "not_text"
    assert "offset 6" in r.json()["detail"]
    assert acme.ok("GET", "/lists")["items"] == [lst]


FORMULAS = ["=1+2", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "plain", 'he said "hi", twice']


def test_downloads_are_exact_unless_asked_to_neutralise_formulas(acme: Api) -> None:
    """The API's download is the list's exact values (it imports back into an identical list);
    with `neutralise=true` (what the web page's download asks for) a value a spreadsheet would
    run as a formula gets a `'` in front (OWASP CSV injection)."""
    lst = acme.ok("POST", "/lists", 201, json={"name": "F", "values": FORMULAS})
    exact = acme.call("GET", f"/lists/{lst['id']}/download")
    assert exact.text.split("\r\n")[1:-1] == [
        "+cmd|' /C calc'!A0",
        "-2+3",
        "=1+2",
        "@SUM(A1)",
        '"he said ""hi"", twice"',
        "plain",
    ]
    safe = acme.call("GET", f"/lists/{lst['id']}/download?neutralise=true")
    assert safe.text.split("\r\n")[1:-1] == [
        "'+cmd|' /C calc'!A0",
        "'-2+3",
        "'=1+2",
        "'@SUM(A1)",
        '"he said ""hi"", twice"',
        "plain",
    ]


def test_import_follows_the_content_type(acme: Api) -> None:
    """The body is the CSV (text/csv, text/plain or no type), or a multipart upload's file
    part; any other type is 415 with what to send instead (a multipart body was imported as
    its raw lines)."""
    lst = acme.ok("POST", "/lists", 201, json={"name": "L"})
    path = f"/lists/{lst['id']}/import"
    # What curl's --data-binary sends by default (the README's example) is the CSV too.
    for content_type in (
        "text/csv",
        "text/plain; charset=utf-8",
        None,
        "application/x-www-form-urlencoded",
    ):
        headers = {"content-type": content_type} if content_type else {}
        r = acme.call("POST", path, content=b"a\nb\n", headers=headers)
        assert r.status_code == 200, (content_type, r.text)
    r = acme.call("POST", path, files={"file": ("list.csv", b"c\nd\n", "text/csv")})
    assert r.status_code == 200 and r.json()["added"] == 2, r.text
    r = acme.call(  # one file under another name is the file, the other fields are ignored
        "POST", path, data={"note": "x"}, files={"upload": ("list.csv", b"e\n", "text/csv")}
    )
    assert r.status_code == 200 and r.json()["added"] == 1, r.text
    r = acme.call("POST", path, data={"note": "no file here"}, files={"x": ("", b"", "")})
    assert r.status_code == 422 and r.json()["code"] == "no_file", r.text
    r = acme.call(
        "POST",
        path,
        content=b'{"values": ["z"]}',
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 415 and r.json()["code"] == "unsupported_media_type"
    assert "text/csv" in r.json()["detail"] and "multipart/form-data" in r.json()["detail"]
    r = acme.call("POST", path, content=b"<a/>", headers={"content-type": "application/xml"})
    assert r.status_code == 415
    values = acme.ok("GET", f"/lists/{lst['id']}/values")["items"]
    assert values == ["a", "b", "c", "d", "e"]
