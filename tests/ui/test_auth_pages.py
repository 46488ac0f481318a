"""Signing in and out, CSRF, roles, one-time passwords, and instances kept apart."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from leadgate.db import transaction
from leadgate.kit.repository import TenantScope
from leadgate.users import service as users
from leadgate.users.deps import SESSION_COOKIE, SIGN_IN_COOKIE
from leadgate.users.models import UserSession
from leadgate.users.service import create_instance
from tests.ui.conftest import PASSWORD, Site, add_user


def test_wrong_password_shows_a_message_and_starts_no_session(site: Site) -> None:
    add_user(site.sessions, site.api.instance_id, "kim@example.com")
    b = site.anonymous("kim@example.com")
    r = b.sign_in("wrong password")
    assert r.status_code == 401
    assert "The email or password is not right." in r.text
    assert b.get("/campaigns", follow_redirects=False).status_code == 303
    # An unknown email gets the very same answer.
    r = site.anonymous("nobody@example.com").sign_in(PASSWORD)
    assert r.status_code == 401 and "The email or password is not right." in r.text


def test_pages_need_a_session_and_come_back_after_sign_in(site: Site) -> None:
    add_user(site.sessions, site.api.instance_id, "kim@example.com")
    b = site.anonymous("kim@example.com")
    r = b.get("/leads?status=valid", follow_redirects=False)
    assert r.status_code == 303
    assert (
        r.headers["location"] == f"{b.base}/sign-in?next=/i/{b.subdomain}/ui/leads%3Fstatus%3Dvalid"
    )
    b.get("/sign-in?next=" + f"/i/{b.subdomain}/ui/leads?status=valid")
    r = b.post(
        "/sign-in",
        {"email": "KIM@example.com ", "password": PASSWORD, "next": f"{b.base}/leads?status=valid"},
    )
    assert r.status_code == 303 and r.headers["location"] == f"{b.base}/leads?status=valid"
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and f"Path=/i/{b.subdomain}/" in cookie


def test_sign_in_never_redirects_off_the_instance(site: Site) -> None:
    add_user(site.sessions, site.api.instance_id, "kim@example.com")
    for target in ("https://evil.example/", "//evil.example/x", "/i/other/ui/campaigns"):
        b = site.anonymous("kim@example.com")
        b.get("/sign-in")
        r = b.post("/sign-in", {"email": "kim@example.com", "password": PASSWORD, "next": target})
        assert r.headers["location"] == f"{b.base}/campaigns", target


def test_sign_in_form_needs_its_own_token(site: Site) -> None:
    add_user(site.sessions, site.api.instance_id, "kim@example.com")
    b = site.anonymous("kim@example.com")
    r = b.client.post(
        f"{b.base}/sign-in",
        data={"email": "kim@example.com", "password": PASSWORD, "csrf_token": "forged"},
        follow_redirects=False,
    )
    assert r.status_code == 403 and "The sign-in form had expired" in r.text


def test_a_chosen_sign_in_cookie_and_token_pair_is_refused(site: Site, other_site: Site) -> None:
    """The sign-in token is signed and bound to its form: a double submit of any value chosen
    for both the cookie and the field (issue 16) gets nowhere, nor does a token of another
    browser's form, another instance's form, or an expired one."""
    add_user(site.sessions, site.api.instance_id, "kim@example.com")
    b = site.anonymous("kim@example.com")
    path = f"/i/{b.subdomain}/"
    creds = {"email": "kim@example.com", "password": PASSWORD}
    refusal = "The sign-in form was not the one this page gave your browser"

    def post(cookie: str, token: str) -> str:
        b.client.cookies.clear()
        b.client.cookies.set(SIGN_IN_COOKIE, cookie, path=path)
        r = b.client.post(
            f"{b.base}/sign-in", data={**creds, "csrf_token": token}, follow_redirects=False
        )
        assert r.status_code == 403, r.text
        assert SESSION_COOKIE not in r.headers.get("set-cookie", "")
        return r.text

    assert refusal in post("k", "k")
    # A real token, but not of this browser's form (another nonce), nor of this instance.
    b.get("/sign-in")
    real = b.csrf
    assert refusal in post("another-nonce", real)
    theirs = other_site.anonymous()
    theirs.get("/sign-in")
    nonce = theirs.client.cookies.get(SIGN_IN_COOKIE)
    assert nonce and refusal in post(nonce, theirs.csrf)
    # Signed for this form, but over its hour.
    signer = site.app.state.signer
    old = signer.sign("sign-in", b.subdomain, "n0nce", ttl_s=3600, now=time.time() - 3601)
    assert "The sign-in form had expired" in post("n0nce", old)
    # The form as served still signs in.
    b.client.cookies.clear()
    assert b.sign_in().status_code == 303


def test_form_posts_without_the_session_token_are_refused(site: Site) -> None:
    b = site.browser()
    r = b.post("/campaigns", {"name": "Forged", "csrf_token": "not-the-token"})
    assert r.status_code == 403
    assert "This form has expired" in r.text
    r = b.post("/campaigns", {"name": "Forged", "csrf_token": ""})
    assert r.status_code == 403
    assert "Forged" not in b.get("/campaigns").text
    # The same post with the page's token works.
    assert b.post("/campaigns", {"name": "Real"}).status_code == 303
    assert "Real" in b.get("/campaigns").text


def test_the_page_script_endpoints_want_the_token_in_a_header(site: Site) -> None:
    b = site.browser()
    lst = site.api.ok("POST", "/lists", 201, json={"name": "L"})
    url = f"{b.base}/api/lists/{lst['id']}/import"
    r = b.client.post(url, content=b"Acme\n", headers={"content-type": "text/csv"})
    assert r.status_code == 403 and r.headers["content-type"] == "application/problem+json"
    r = b.client.post(
        url, content=b"Acme\n", headers={"content-type": "text/csv", "x-csrf-token": b.csrf}
    )
    assert r.status_code == 200 and r.json()["added"] == 1


def test_sign_out_ends_the_session_even_for_a_kept_cookie(site: Site) -> None:
    b = site.browser()
    kept = dict(b.client.cookies)
    r = b.post("/sign-out")
    assert r.status_code == 303 and r.headers["location"].endswith("/sign-in?notice=signed_out")
    replay = site.anonymous()
    for name, value in kept.items():
        replay.client.cookies.set(name, value, path=f"/i/{site.api.subdomain}/")
    assert replay.get("/campaigns", follow_redirects=False).status_code == 303


def test_an_expired_session_signs_out(site: Site, sessions: sessionmaker[Session]) -> None:
    b = site.browser()
    with transaction(sessions) as session:
        session.execute(
            update(UserSession)
            .where(UserSession.instance_id == site.api.instance_id)
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    assert b.get("/campaigns", follow_redirects=False).status_code == 303


def test_a_publisher_person_cannot_reach_admin_pages(site: Site) -> None:
    cid = site.api.campaign("Secret campaign")["id"]
    pub, _ = site.api.publisher("LeadCo")
    lst = site.api.ok("POST", "/lists", 201, json={"name": "Secret list", "values": ["x"]})
    p = site.browser(role="publisher", publisher_id=pub["id"])
    for path in (
        "/campaigns",
        f"/campaigns/{cid}",
        f"/campaigns/{cid}/processr",
        "/leads",
        "/lists",
        f"/lists/{lst['id']}",
        "/publishers",
        "/users",
        "/tokens",
    ):
        r = p.get(path)
        assert r.status_code == 403, path
        assert "This page is for the instance&#39;s admins" in r.text
        assert "Secret" not in r.text, path
    r = p.post("/campaigns", {"name": "Sneaky"})
    assert r.status_code == 403
    assert p.get("/", follow_redirects=False).headers["location"].endswith("/portal")
    assert p.get("/portal").status_code == 200


def test_an_admin_has_no_portal(site: Site) -> None:
    b = site.browser()
    assert b.get("/portal").status_code == 403
    assert b.get("/", follow_redirects=False).headers["location"].endswith("/campaigns")


def test_a_session_of_instance_a_opens_nothing_of_instance_b(site: Site, other_site: Site) -> None:
    cid = other_site.api.campaign("B's campaign")["id"]
    a = site.browser()
    b_base = f"/i/{other_site.api.subdomain}/ui"
    cookie = a.client.cookies.get("leadgate_session")
    assert cookie
    for path in ("/campaigns", f"/campaigns/{cid}", "/leads", "/portal"):
        # Sent on purpose, whatever its path says: the server still refuses it.
        r = a.client.get(
            b_base + path, headers={"cookie": f"leadgate_session={cookie}"}, follow_redirects=False
        )
        assert r.status_code == 303, path
        assert r.headers["location"].startswith(f"{b_base}/sign-in"), path
    r = a.client.post(
        f"{b_base}/campaigns",
        data={"name": "Planted", "csrf_token": a.csrf},
        headers={"cookie": f"leadgate_session={cookie}"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and "/sign-in" in r.headers["location"]
    assert "Planted" not in str(other_site.api.ok("GET", "/campaigns"))
    # And its own credentials do not sign in there either.
    add_user(site.sessions, site.api.instance_id, "only-a@example.com")
    b = other_site.anonymous("only-a@example.com")
    assert b.sign_in().status_code == 401


def test_instance_create_makes_a_first_admin_with_a_one_time_password(
    site: Site, sessions: sessionmaker[Session]
) -> None:
    sub = site.api.subdomain + "-new"
    with transaction(sessions) as session:
        created = create_instance(session, sub, admin_email="Owner@Example.com")
    out = created.model_dump()
    assert set(out) == {"subdomain", "admin_token", "admin_email", "admin_password"}
    assert out["admin_email"] == "owner@example.com" and len(out["admin_password"]) >= 12
    b = site.anonymous("owner@example.com")
    b.subdomain = sub
    assert b.sign_in(created.admin_password).status_code == 303
    # Until the one-time password is replaced, every page sends you to change it.
    r = b.get("/campaigns", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/i/{sub}/ui/password"
    r = b.post(
        "/password",
        {
            "current_password": created.admin_password,
            "new_password": "short",
            "confirm_password": "short",
        },
    )
    assert r.status_code == 422
    assert "at least 10 characters" in r.text
    r = b.post(
        "/password",
        {
            "current_password": "wrong one entirely",
            "new_password": "a good long password",
            "confirm_password": "a good long password",
        },
    )
    assert r.status_code == 422 and "This is not your current password." in r.text
    r = b.post(
        "/password",
        {
            "current_password": created.admin_password,
            "new_password": "a good long password",
            "confirm_password": "a good long password",
        },
    )
    assert r.status_code == 303
    assert b.get("/campaigns").status_code == 200
    # The one-time password is spent.
    again = site.anonymous("owner@example.com")
    again.subdomain = sub
    assert again.sign_in(created.admin_password).status_code == 401
    assert again.sign_in("a good long password").status_code == 303


def test_admins_add_users_with_one_time_passwords(site: Site) -> None:
    b = site.browser()
    pub, _ = site.api.publisher("LeadCo")
    r = b.post("/users", {"email": "not an email", "role": "admin"})
    assert r.status_code == 422 and "enter an email address" in r.text.lower()
    r = b.post("/users", {"email": "sam@leadco.example", "role": "publisher", "publisher_id": ""})
    assert r.status_code == 422 and "needs a publisher" in r.text
    r = b.post(
        "/users",
        {"email": "sam@leadco.example", "role": "publisher", "publisher_id": str(pub["id"])},
    )
    assert r.status_code == 200
    password = r.text.split('id="new-password">')[1].split("<")[0]
    r = b.post("/users", {"email": "SAM@leadco.example", "role": "admin"})
    assert r.status_code == 422 and "There is a user sam@leadco.example already." in r.text
    sam = site.anonymous("sam@leadco.example")
    assert sam.sign_in(password).status_code == 303
    assert sam.get("/portal", follow_redirects=False).headers["location"].endswith("/password")


def test_api_tokens_made_on_the_page_open_the_api_until_revoked(site: Site) -> None:
    b = site.browser()
    r = b.post("/tokens", {"name": "nightly import"})
    token = r.text.split('id="new-token">')[1].split("<")[0]
    assert token.startswith("lga_")
    assert site.api.call("GET", "/campaigns", secret=token).status_code == 200
    token_id = r.text.split("/tokens/")[1].split("/revoke")[0]
    assert b.post(f"/tokens/{token_id}/revoke").status_code == 303
    assert site.api.call("GET", "/campaigns", secret=token).status_code == 401
    assert b.post("/tokens", {"name": ""}).status_code == 422


def test_a_new_password_by_an_admin_ends_the_users_sessions(site: Site) -> None:
    admin = site.browser()
    pat = site.browser("pat@example.com")
    with site.sessions() as session:
        scope = TenantScope(session, site.api.instance_id)
        admin_id, pat_id = (users.find(scope, e).id for e in (admin.email, pat.email))  # type: ignore[union-attr]
    r = admin.post(f"/users/{pat_id}/reset-password")
    assert r.status_code == 200 and 'id="new-password">' in r.text
    assert pat.get("/campaigns", follow_redirects=False).status_code == 303
    assert admin.post(f"/users/{admin_id}/reset-password").status_code == 409
    assert admin.post(f"/users/{admin_id}/remove").status_code == 409
    assert admin.post(f"/users/{pat_id}/remove").status_code == 303
    assert "pat@example.com" not in admin.get("/users").text
