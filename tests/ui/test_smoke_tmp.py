from tests.ui.conftest import Site


def test_smoke(site: Site) -> None:
    b = site.browser()
    cid = site.api.campaign("Solar")["id"]
    lst = site.api.ok("POST", "/lists", 201, json={"name": "Targets", "values": ["Acme"]})
    pub, key = site.api.publisher("P1")
    lead = site.api.ok("POST", f"/campaigns/{cid}/leads", 201, json={"data": {"email": "a@b.c"}})
    for path in [
        "/campaigns",
        f"/campaigns/{cid}",
        f"/campaigns/{cid}/processr",
        f"/campaigns/{cid}/processr/new?type=validation_list",
        f"/campaigns/{cid}/processr/new?type=conditional_validation",
        f"/campaigns/{cid}/processr/new?type=required_fields",
        f"/campaigns/{cid}/processr/new?type=connect_validation_list",
        "/lists",
        f"/lists/{lst['id']}",
        "/leads",
        f"/leads/{lead['id']}",
        "/publishers",
        f"/publishers/{pub['id']}",
        "/users",
        "/tokens",
        "/password",
    ]:
        r = b.get(path)
        assert r.status_code == 200, (path, r.status_code, r.text[:3000])
