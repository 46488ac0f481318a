"""The everyday checks over the API: jobs made through the admin API, leads through the
Publisher API, bad configs refused with the key named and nothing saved."""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import Api

FIELDS = [
    {"name": "firstName"},
    {"name": "lastName"},
    {"name": "email"},
    {"name": "phone"},
    {"name": "country"},
    {"name": "postcode"},
]


class Setup:
    """A campaign with these fields, granted to a publisher with a key."""

    def __init__(self, acme: Api) -> None:
        self.acme = acme
        self.cid = acme.campaign("Everyday", FIELDS)["id"]
        pub, key = acme.publisher("LeadCo")
        self.key = key["key"]
        acme.ok("PUT", f"/campaigns/{self.cid}/publishers/{pub['id']}", 204)

    def job(self, type_: str, config: dict[str, Any], **extra: Any) -> dict[str, Any]:
        job: dict[str, Any] = self.acme.ok(
            "POST",
            f"/campaigns/{self.cid}/jobs",
            201,
            json={"type": type_, "config": config, **extra},
        )
        return job

    def submit(self, **data: Any) -> dict[str, Any]:
        r = self.acme.call(
            "POST", f"/publisher/campaigns/{self.cid}/leads", secret=self.key, json={"data": data}
        )
        assert r.status_code == 201, r.text
        lead: dict[str, Any] = r.json()
        return lead


GOOD = {
    "firstName": "Kim",
    "lastName": "Lee",
    "email": "kim.lee@acme.co.uk",
    "phone": "020 7946 0958",
    "country": "GB",
    "postcode": "SW1A 1AA",
}


def codes(lead: dict[str, Any]) -> list[str]:
    return [f["code"] for f in lead["flags"]]


def test_publisher_leads_are_judged_by_the_format_checks(acme: Api) -> None:
    s = Setup(acme)
    email = s.job("email_format", {"field_name": "email", "allow_free_mail": False}, score=40)
    phone = s.job(
        "telephone_format",
        {"field_name": "phone", "default_region": "gb", "country_field": "country"},
        score=40,
    )
    assert email["config"]["free_mail_domains"][:2] == ["gmail.com", "googlemail.com"]
    assert phone["config"] == {
        "field_name": "phone",
        "default_region": "GB",
        "country_field": "country",
        "types": "any",
    }
    s.job("field_length", {"field_name": "postcode", "min": 5, "max": 8}, score=20)

    lead = s.submit(**GOOD)
    assert (lead["status"], lead["score"], lead["max_score"], lead["flags"]) == (
        "valid",
        100,
        100,
        [],
    )
    # A US number passes when the lead's country says US.
    assert s.submit(**{**GOOD, "phone": "650-253-0000", "country": "us"})["status"] == "valid"

    lead = s.submit(**{**GOOD, "email": "kim@Gmail.com"})
    assert (lead["status"], lead["score"]) == ("invalid", 60)
    assert lead["flags"] == [
        {
            "job_id": email["id"],
            "job_type": "email_format",
            "code": "email_format.free_mail",
            "message": "The field email holds an address at the free-mail provider gmail.com; "
            "a business address is needed",
        }
    ]
    lead = s.submit(**{**GOOD, "email": "kim@acme", "phone": "12", "postcode": "SW1A 1AAX"})
    assert (lead["status"], lead["score"]) == ("invalid", 0)
    assert codes(lead) == [
        "email_format.invalid",
        "telephone_format.invalid",
        "field_length.out_of_range",
    ]
    assert lead["flags"][1]["message"] == (
        "The field phone does not hold a valid telephone number for GB. The value supplied was 12"
    )
    assert lead["flags"][2]["message"] == (
        "The field postcode is 9 characters long; it must be 5 to 8 characters"
    )


def test_publisher_leads_are_judged_by_the_content_checks(acme: Api) -> None:
    s = Setup(acme)
    names = ["firstName", "lastName"]
    test_data = s.job(
        "test_data", {"fields": ["firstName", "email", "postcode"], "values": ["AA1 1AA"]}
    )
    s.job("repeated_characters", {"fields": names}, hardfail=True, score=20)
    s.job("non_standard_characters", {"fields": names, "max": 1}, score=20)
    every = [f["name"] for f in FIELDS]
    s.job("multiple_empty_fields", {"fields": every, "max_empty": 1}, score=20)
    assert test_data["config"]["words"] == ["test", "asdf", "qwerty", "example"]

    assert s.submit(**GOOD)["status"] == "valid"
    assert s.submit(**{**GOOD, "firstName": "José", "lastName": "O'Brien-Núñez"})["flags"] == []

    lead = s.submit(**{**GOOD, "firstName": "Test", "postcode": "aa1 1aa"})
    assert (lead["status"], lead["score"], lead["max_score"]) == ("caution", 60, 70)
    assert lead["flags"][0]["message"] == (
        'The field firstName contains the test word "test"; '
        'the field postcode holds the test value "AA1 1AA"'
    )
    # A hard fail makes it invalid at 50 of 70.
    lead = s.submit(**{**GOOD, "lastName": "Leeeee"})
    assert (lead["status"], codes(lead)) == ("invalid", ["repeated_characters.found"])

    lead = s.submit(firstName="K!m", lastName="L$$", email="kim@acme.co.uk")
    assert lead["status"] == "invalid"
    assert codes(lead) == ["non_standard_characters.found", "multiple_empty_fields.too_many"]
    assert lead["flags"][0]["message"] == (
        'The field lastName has 2 non-standard characters: "$" (at most 1 allowed)'
    )
    assert lead["flags"][1]["message"] == (
        "3 of 6 fields are empty: phone, country and postcode (at most 1 may be)"
    )


@pytest.mark.parametrize(
    ("type_", "config", "code", "key"),
    [
        ("field_length", {"field_name": "postcode", "min": 9, "max": 5}, "invalid_request", "max"),
        ("field_length", {"field_name": "postcode"}, "invalid_request", "max"),
        ("field_length", {"field_name": "shoeSize", "max": 5}, "unknown_fields", "shoeSize"),
        (
            "telephone_format",
            {"field_name": "phone", "default_region": "XX"},
            "invalid_request",
            "default_region",
        ),
        (
            "telephone_format",
            {"field_name": "phone", "default_region": "GB", "country_field": "nation"},
            "unknown_fields",
            "nation",
        ),
        (
            "repeated_characters",
            {"fields": ["email"], "max_repeats": 0},
            "invalid_request",
            "max_repeats",
        ),
        ("repeated_characters", {"fields": []}, "invalid_request", "fields"),
        (
            "non_standard_characters",
            {"fields": ["email", "shoeSize"]},
            "unknown_fields",
            "shoeSize",
        ),
        (
            "test_data",
            {"fields": ["email"], "words": [], "values": []},
            "invalid_request",
            "values",
        ),
        (
            "multiple_empty_fields",
            {"fields": ["email", "phone"], "max_empty": 2},
            "invalid_request",
            "max_empty",
        ),
        ("multiple_empty_fields", {"max_empty": 1}, "invalid_request", "fields"),
        (
            "email_format",
            {"field_name": "email", "allow_free_mail": False, "free_mail_domains": []},
            "invalid_request",
            "free_mail_domains",
        ),
        ("duplicate_check", {"field_name": "workEmail"}, "unknown_fields", "workEmail"),
        ("duplicate_check", {"scope": "everywhere"}, "invalid_request", "scope"),
        ("duplicate_check", {"lookback_days": -1}, "invalid_request", "lookback_days"),
        (
            "value_transforms",
            {"rules": [{"field_name": "nation", "transform": "upper"}]},
            "unknown_fields",
            "nation",
        ),
        (
            "value_transforms",
            {"rules": [{"field_name": "phone", "transform": "phone_e164", "region": "XX"}]},
            "invalid_request",
            "rules",
        ),
        (
            "value_transforms",
            {"rules": [{"field_name": "phone", "transform": "reverse"}]},
            "invalid_request",
            "rules",
        ),
        ("value_transforms", {"rules": []}, "invalid_request", "rules"),
    ],
)
def test_bad_configs_are_422_with_the_key_named_and_nothing_saved(
    acme: Api, type_: str, config: dict[str, Any], code: str, key: str
) -> None:
    cid = acme.campaign("Bad", FIELDS)["id"]
    r = acme.call("POST", f"/campaigns/{cid}/jobs", json={"type": type_, "config": config})
    assert r.status_code == 422, r.text
    problem = r.json()
    assert problem["code"] == code, problem
    assert key in problem["detail"], problem
    if code == "invalid_request":
        assert ["config", key] in [e["loc"][:2] for e in problem["errors"]], problem
    else:
        assert problem["fields"] == [key]
    assert acme.ok("GET", f"/campaigns/{cid}/jobs")["items"] == []


def test_a_bad_patch_changes_nothing(acme: Api) -> None:
    cid = acme.campaign("Patch", FIELDS)["id"]
    body = {"type": "field_length", "config": {"field_name": "postcode", "min": 5, "max": 8}}
    job = acme.ok("POST", f"/campaigns/{cid}/jobs", 201, json=body)
    url = f"/campaigns/{cid}/jobs/{job['id']}"
    r = acme.call("PATCH", url, json={"config": {"min": 50}})
    assert r.status_code == 422 and "max" in r.json()["detail"]
    assert acme.ok("GET", url)["config"] == job["config"]
    assert acme.ok("PATCH", url, json={"config": {"max": None, "min": 3}})["config"] == {
        "field_name": "postcode",
        "min": 3,
        "max": None,
    }


def test_job_types_and_dropdowns(acme: Api) -> None:
    cid = acme.campaign("Types", FIELDS)["id"]
    types = {t["type"]: t for t in acme.ok("GET", "/job-types")}
    for name in (
        "test_data",
        "field_length",
        "repeated_characters",
        "non_standard_characters",
        "multiple_empty_fields",
        "email_format",
        "telephone_format",
        "duplicate_check",
        "value_transforms",
    ):
        assert types[name]["tab"] == "quality"
        assert types[name]["config_schema"]["additionalProperties"] is False
    assert types["telephone_format"]["title"] == "Telephone Format Check"

    def choices(type_: str, field: str) -> list[Any]:
        body = {"field": field, "campaign_id": cid, "config": {}}
        found = acme.ok("POST", f"/job-types/{type_}/options", json=body)["options"]
        return [o["value"] for o in found]

    assert "GB" in choices("telephone_format", "default_region")
    assert choices("telephone_format", "country_field") == [f["name"] for f in FIELDS]
    assert choices("telephone_format", "types") == ["any", "mobile", "fixed"]
    assert choices("multiple_empty_fields", "fields") == [f["name"] for f in FIELDS]
    assert choices("duplicate_check", "field_name") == [f["name"] for f in FIELDS]
    assert choices("duplicate_check", "scope") == ["campaign", "publisher", "instance"]


def test_nested_config_errors_name_the_rule_and_key(acme: Api) -> None:
    cid = acme.campaign("Rules", FIELDS)["id"]
    rules = [
        {"field_name": "email", "transform": "email_lower"},
        {"field_name": "phone", "transform": "phone_e164", "region": "XX"},
    ]
    r = acme.call(
        "POST",
        f"/campaigns/{cid}/jobs",
        json={"type": "value_transforms", "config": {"rules": rules}},
    )
    assert r.status_code == 422, r.text
    (error,) = r.json()["errors"]
    assert error["loc"] == ["config", "rules", "1", "region"]
    assert "'XX' is not a known region" in error["msg"]
    assert "rules.1.region" in r.json()["detail"]


def test_a_campaign_without_an_email_field_names_its_field(acme: Api) -> None:
    cid = acme.campaign("No email", [{"name": "workEmail"}])["id"]
    r = acme.call("POST", f"/campaigns/{cid}/jobs", json={"type": "duplicate_check", "config": {}})
    assert (r.status_code, r.json()["code"], r.json()["fields"]) == (
        422,
        "unknown_fields",
        ["email"],
    )
    job = acme.ok(
        "POST",
        f"/campaigns/{cid}/jobs",
        201,
        json={"type": "duplicate_check", "config": {"field_name": "workEmail"}},
    )
    assert job["config"] == {
        "field_name": "workEmail",
        "scope": "campaign",
        "lookback_days": 90,
        "normalise": True,
        "count_invalid": True,
        "free_returned": False,
    }


def test_transforms_and_duplicates_through_the_publisher_api(acme: Api) -> None:
    s = Setup(acme)
    s.job(
        "value_transforms",
        {
            "rules": [
                {"field_name": "email", "transform": "email_lower"},
                {"field_name": "phone", "transform": "phone_e164", "region": "GB"},
                {"field_name": "country", "transform": "upper"},
            ]
        },
        score=0,
    )
    s.job("email_format", {"field_name": "email"})
    dup = s.job("duplicate_check", {})
    s.job("telephone_format", {"field_name": "phone", "default_region": "US"})
    sent = {**GOOD, "email": " Kim.Lee@ACME.co.uk", "country": "gb"}
    first = s.submit(**sent)
    assert (first["status"], first["score"], first["max_score"]) == ("valid", 30, 30)
    lead = acme.ok("GET", f"/leads/{first['id']}")
    assert lead["data"] == {**GOOD, "phone": "+442079460958"}
    assert lead["history"][1]["event"] == "transformed"
    again = s.submit(**{**GOOD, "email": "kim.lee+promo@acme.co.uk"})
    assert (again["status"], codes(again)) == ("invalid", ["duplicate.found"])
    assert again["flags"][0]["job_id"] == dup["id"]
    assert f"as lead {first['id']}, received" in again["flags"][0]["message"]
