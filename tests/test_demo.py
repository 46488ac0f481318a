"""The demo seeded again (every `make run`): the same tokens and passwords, nobody signed out,
no token piled up."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from leadgate.config import Settings
from leadgate.db import transaction
from leadgate.demo import seed
from leadgate.instances import repository as instance_rows
from leadgate.instances.service import get_instance, issue_admin_token
from leadgate.kit.repository import TenantScope
from leadgate.publishers import repository as publisher_rows
from leadgate.users import service as users


def _offline(settings: Settings) -> Settings:
    # No acme over HTTP: the delivery job is left out (a note says so), the rest is seeded.
    return settings.model_copy(update={"instance_url": "http://127.0.0.1:9/i/{subdomain}"})


def _working_tokens(sessions: sessionmaker[Session], subdomain: str) -> list[str]:
    with transaction(sessions) as s:
        instance = get_instance(s, subdomain)
        assert instance is not None
        scope = TenantScope(s, instance.id)
        return [t.name for t in instance_rows.admin_tokens(scope) if t.revoked_at is None]


def test_a_second_seed_keeps_tokens_passwords_and_sessions(
    sessions: sessionmaker[Session], settings: Settings, client: TestClient
) -> None:
    first = seed(sessions, _offline(settings))
    acme_user = first["acme"]["web_users"][0]
    assert acme_user["email"] == "admin@acme.example" and acme_user["password"]
    with transaction(sessions) as s:
        instance = get_instance(s, "acme")
        assert instance is not None
        scope = TenantScope(s, instance.id)
        user = users.find(scope, "admin@acme.example")
        assert user is not None and users.password_matches(user, acme_user["password"])
        cookie = users.start_session(s, user)
        issue_admin_token(s, instance.id, "a script's token")  # not the demo's: it stays
    tokens_before = _working_tokens(sessions, "acme")

    second = seed(sessions, _offline(settings))

    for sub in ("acme", "leadco"):
        assert second[sub]["admin_token"] == first[sub]["admin_token"]
        assert second[sub]["web_users"] == first[sub]["web_users"]
    assert second["acme"]["publisher_key_for_leadco"] == first["acme"]["publisher_key_for_leadco"]
    assert _working_tokens(sessions, "acme") == tokens_before
    assert tokens_before.count("demo") == 1 and "a script's token" in tokens_before
    with transaction(sessions) as s:
        assert users.signed_in(s, "acme", cookie) is not None, "the restart signed a person out"
        instance = get_instance(s, "acme")
        assert instance is not None
        scope = TenantScope(s, instance.id)
        pub = publisher_rows.find_by_name(scope, "LeadCo")
        assert pub is not None and publisher_rows.live_key_count(scope, pub.id) == 1
    for sub, key in (("acme", "admin_token"), ("leadco", "admin_token")):
        headers = {"Authorization": f"Bearer {second[sub][key]}"}
        assert client.get(f"/i/{sub}/api/v1/campaigns", headers=headers).status_code == 200
    headers = {"Authorization": f"Bearer {second['acme']['publisher_key_for_leadco']}"}
    assert client.get("/i/acme/api/v1/publisher/campaigns", headers=headers).status_code == 200


def test_a_password_a_person_chose_stays_and_is_not_printed(
    sessions: sessionmaker[Session], settings: Settings
) -> None:
    demo = seed(sessions, _offline(settings))
    with transaction(sessions) as s:
        instance = get_instance(s, "leadco")
        assert instance is not None
        scope = TenantScope(s, instance.id)
        user = users.find(scope, "admin@leadco.example")
        assert user is not None
        users.change_password(
            scope,
            user.id,
            demo["leadco"]["web_users"][0]["password"],
            "my own long password",
            keep_token=None,
        )

    again = seed(sessions, _offline(settings))

    assert again["leadco"]["web_users"][0]["password"] is None
    assert "admin@leadco.example has a password of its own now" in " ".join(again["notes"])
    with transaction(sessions) as s:
        instance = get_instance(s, "leadco")
        assert instance is not None
        user = users.find(TenantScope(s, instance.id), "admin@leadco.example")
        assert user is not None and users.password_matches(user, "my own long password")
