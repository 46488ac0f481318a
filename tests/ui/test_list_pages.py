"""List pages: create, change values, search and page, import (script and form), delete."""

from __future__ import annotations

from tests.ui.conftest import Site


def test_create_change_search_and_page(site: Site, monkeypatch: object) -> None:
    b = site.browser()
    r = b.post("/lists", {"name": "Targets", "values": "Acme\r\n\r\nGlobex\n"})
    lid = int(r.headers["location"].split("/lists/")[1].split("?")[0])
    assert site.api.ok("GET", f"/lists/{lid}")["value_count"] == 2
    r = b.post(f"/lists/{lid}/values", {"add": "Initech\nHooli", "remove": "Globex"})
    assert r.status_code == 303
    out = site.api.ok("GET", f"/lists/{lid}")
    assert (out["value_count"], out["version"]) == (3, 2)
    page = b.get(f"/lists/{lid}?search=oo").text
    assert "Hooli" in page and "Acme" not in page.split('class="values"')[1]
    assert b.post(f"/lists/{lid}/values", {}).status_code == 422
    r = b.post(f"/lists/{lid}/values", {"add": "x" * 600})
    assert r.status_code == 422 and "longer than 500 characters" in r.text


def test_values_are_paged_by_keyset(site: Site) -> None:
    b = site.browser()
    values = [f"v{i:03d}" for i in range(150)]
    lid = site.api.ok("POST", "/lists", 201, json={"name": "Many", "values": values})["id"]
    first = b.get(f"/lists/{lid}").text
    cursor = first.split("cursor=")[1].split('"')[0]
    assert "v099" in first and "v100" not in first
    second = b.get(f"/lists/{lid}?search=&cursor={cursor}").text
    assert "v100" in second and "v149" in second and "<li>v099</li>" not in second


def test_import_by_script_reports_rejected_lines(site: Site) -> None:
    b = site.browser()
    lid = site.api.ok("POST", "/lists", 201, json={"name": "Targets"})["id"]
    body = "domain\nacme.example\n" + "y" * 501 + "\nbad\x01value\nglobex.example\n"
    r = b.client.post(
        f"{b.base}/api/lists/{lid}/import?mode=add&header=auto",
        content=body.encode(),
        headers={"content-type": "text/csv", "x-csrf-token": b.csrf},
    )
    assert r.status_code == 200
    out = r.json()
    assert (out["added"], out["value_count"]) == (2, 2)
    assert out["rejected"] == [
        {"line": 3, "reason": "longer than 500 characters"},
        {"line": 4, "reason": "contains control characters"},
    ]
    r = b.client.post(
        f"{b.base}/api/lists/{lid}/import?mode=add",
        content=b"\x00\x01binary",
        headers={"content-type": "text/csv", "x-csrf-token": b.csrf},
    )
    assert r.status_code == 422 and r.json()["code"] == "not_text"


def test_import_by_form_for_browsers_without_scripts(site: Site) -> None:
    b = site.browser()
    lid = site.api.ok("POST", "/lists", 201, json={"name": "Targets", "values": ["old"]})["id"]
    r = b.client.post(
        f"{b.base}/lists/{lid}/import",
        data={"csrf_token": b.csrf, "mode": "replace", "header": "no"},
        files={"file": ("t.csv", b"new1\nnew2\n" + b"z" * 700 + b"\n", "text/csv")},
    )
    assert r.status_code == 200
    assert "2 added, 1 removed; the list now has 2 values" in r.text
    assert "1 line not imported" in r.text
    r = b.client.post(f"{b.base}/lists/{lid}/import", data={"csrf_token": b.csrf})
    assert r.status_code == 422 and "Choose a CSV file" in r.text


def test_a_list_in_use_is_not_deleted(site: Site) -> None:
    b = site.browser()
    cid = site.api.campaign("Solar")["id"]
    lid = site.api.ok("POST", "/lists", 201, json={"name": "Targets"})["id"]
    job = site.api.ok(
        "POST",
        f"/campaigns/{cid}/jobs",
        201,
        json={
            "type": "validation_list",
            "config": {"list_id": lid, "field_name": "company", "rule": "pass"},
        },
    )
    r = b.post(f"/lists/{lid}/delete")
    assert r.status_code == 409 and "remove them first" in r.text
    site.api.ok("DELETE", f"/campaigns/{cid}/jobs/{job['id']}", 204)
    assert b.post(f"/lists/{lid}/delete").status_code == 303
    assert site.api.call("GET", f"/lists/{lid}").status_code == 404


def test_the_download_is_safe_to_open_in_a_spreadsheet(site: Site) -> None:
    """Values a spreadsheet would run as formulas are shown as text: `'` in front (OWASP)."""
    b = site.browser()
    values = ['=HYPERLINK("http://evil.example")', "+1", "-1", "@A1", "acme.com"]
    lid = site.api.ok("POST", "/lists", 201, json={"name": "Risky", "values": values})["id"]
    r = b.get(f"/lists/{lid}/download")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.text.split("\r\n")[1:-1] == [
        "'+1",
        "'-1",
        '"\'=HYPERLINK(""http://evil.example"")"',
        "'@A1",
        "acme.com",
    ]
