"""The everyday checks' job forms: each renders from its schema, saves, edits, and shows errors."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest

from leadgate.jobs.email_format import FREE_MAIL_DOMAINS
from tests.ui.conftest import Browser, Site

FIELDS = [
    {"name": "firstName", "label": "First name"},
    {"name": "email"},
    {"name": "phone"},
    {"name": "country"},
    {"name": "postcode"},
]

# type -> (the form as a browser posts it, the config saved)
FORMS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "test_data": (
        {
            "config.fields": ["firstName", "email"],
            "config.words": "test\r\nMickey Mouse\r\n\r\n",
            "config.values": "AA1 1AA",
        },
        {
            "fields": ["firstName", "email"],
            "words": ["test", "Mickey Mouse"],
            "values": ["AA1 1AA"],
        },
    ),
    "field_length": (
        {"config.field_name": "postcode", "config.min": "5", "config.max": ""},
        {"field_name": "postcode", "min": 5, "max": None},
    ),
    "repeated_characters": (
        {"config.fields": ["firstName"], "config.max_repeats": "2"},
        {"fields": ["firstName"], "max_repeats": 2},
    ),
    "non_standard_characters": (
        {"config.fields": ["firstName", "postcode"], "config.max": ""},
        {"fields": ["firstName", "postcode"], "max": 3},
    ),
    "multiple_empty_fields": (
        {"config.fields": ["firstName", "email", "phone"], "config.max_empty": "1"},
        {"fields": ["firstName", "email", "phone"], "max_empty": 1},
    ),
    "email_format": (
        {"config.field_name": "email", "config.free_mail_domains": "gmail.com\nAOL.com"},
        {
            "field_name": "email",
            "allow_free_mail": False,
            "free_mail_domains": ["gmail.com", "aol.com"],
        },
    ),
    "telephone_format": (
        {
            "config.field_name": "phone",
            "config.default_region": "GB",
            "config.country_field": "",
            "config.types": "mobile",
        },
        {"field_name": "phone", "default_region": "GB", "country_field": None, "types": "mobile"},
    ),
    "duplicate_check": (
        {
            "config.field_name": "email",
            "config.scope": "publisher",
            "config.lookback_days": "30",
            "config.normalise": "true",
            "config.free_returned": "true",
        },
        {
            "field_name": "email",
            "scope": "publisher",
            "lookback_days": 30,
            "normalise": True,
            "count_invalid": False,
            "free_returned": True,
        },
    ),
    "value_transforms": (
        {
            "config.rules.0.field_name": "email",
            "config.rules.0.transform": "email_lower",
            "config.rules.0.region": "",
            "config.rules.1.field_name": "",
            "config.rules.1.transform": "",
            "config.rules.1.region": "",
            "config.rules.2.field_name": "phone",
            "config.rules.2.transform": "phone_e164",
            "config.rules.2.region": "gb",
        },
        {
            "rules": [
                {"field_name": "email", "transform": "email_lower", "region": None},
                {"field_name": "phone", "transform": "phone_e164", "region": "GB"},
            ]
        },
    ),
}


def error_of(page: str, name: str) -> str:
    found = re.search(rf'<p class="error" id="e-{re.escape(name)}"[^>]*>([^<]*)</p>', page)
    return html.unescape(found.group(1)) if found else ""


def setup(site: Site) -> tuple[Browser, int]:
    return site.browser(), site.api.campaign("Everyday", FIELDS)["id"]


def saved(site: Site, cid: int) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = site.api.ok("GET", f"/campaigns/{cid}/jobs")["items"]
    return items


@pytest.mark.parametrize("type_", sorted(FORMS))
def test_each_form_saves_its_config_and_shows_it_again(site: Site, type_: str) -> None:
    b, cid = setup(site)
    form, config = FORMS[type_]
    r = b.post(f"/campaigns/{cid}/processr/new?type={type_}", form)
    assert r.status_code == 303, error_of(r.text, "config") or r.text[-3000:]
    (job,) = saved(site, cid)
    assert job["type"] == type_ and job["config"] == config
    edit = b.get(f"/campaigns/{cid}/processr/jobs/{job['id']}").text
    again = b.post(f"/campaigns/{cid}/processr/jobs/{job['id']}", form)
    assert again.status_code == 303, again.text[-3000:]
    (job,) = saved(site, cid)
    assert job["config"] == config and job["version"] == 2
    for value in config.get("fields", []):
        assert f'name="config.fields" value="{value}" checked' in edit


def test_the_new_forms_show_defaults_widgets_and_dropdowns(site: Site) -> None:
    b, cid = setup(site)
    page = b.get(f"/campaigns/{cid}/processr/new?type=test_data").text
    assert '<legend class="required">Fields to check</legend>' in page
    assert 'name="config.fields" value="firstName"> First name</label>' in page
    assert "test\nasdf\nqwerty\nexample</textarea>" in page
    page = b.get(f"/campaigns/{cid}/processr/new?type=email_format").text
    assert "\n".join(FREE_MAIL_DOMAINS[:3]) in page
    assert 'name="config.allow_free_mail" type="checkbox" value="true" checked' in page
    page = b.get(f"/campaigns/{cid}/processr/new?type=telephone_format").text
    assert '<option value="GB">GB (+44)</option>' in page
    assert '<option value="mobile">mobile</option>' in page
    assert 'data-options-key="country_field"' in page
    page = b.get(f"/campaigns/{cid}/processr/new?type=field_length").text
    assert 'name="config.min" type="number" value="0"' in page
    assert 'name="config.max" type="number" value=""' in page
    page = b.get(f"/campaigns/{cid}/processr/new?type=repeated_characters").text
    assert 'name="config.max_repeats" type="number" value="3"' in page
    page = b.get(f"/campaigns/{cid}/processr/new?type=duplicate_check").text
    assert 'name="config.lookback_days" type="number" value="90"' in page
    assert '<option value="instance">instance</option>' in page
    assert 'data-options-key="field_name"' in page
    assert 'name="config.count_invalid" type="checkbox" value="true" checked' in page
    page = b.get(f"/campaigns/{cid}/processr/new?type=value_transforms").text
    assert 'name="config.rules.0.field_name"' in page
    assert '<option value="phone_e164">phone_e164</option>' in page
    assert 'name="config.rules.0.region"' in page
    assert '<option value="postcode">postcode</option>' in page


@pytest.mark.parametrize(
    ("type_", "form", "name", "says"),
    [
        (
            "field_length",
            {"config.field_name": "postcode", "config.min": "9", "config.max": "5"},
            "config.max",
            "the maximum (5) is below the minimum (9)",
        ),
        (
            "telephone_format",
            {"config.field_name": "phone", "config.default_region": "XX"},
            "config.default_region",
            "'XX' is not a known region",
        ),
        (
            "multiple_empty_fields",
            {"config.fields": ["email", "phone"], "config.max_empty": "2"},
            "config.max_empty",
            "below the number of fields counted (2)",
        ),
        (
            "test_data",
            {"config.fields": ["email"], "config.words": "", "config.values": ""},
            "config.values",
            "give at least one test word or test value",
        ),
        (
            "repeated_characters",
            {"config.fields": ["email"], "config.max_repeats": "0"},
            "config.max_repeats",
            "1",
        ),
        (
            "value_transforms",
            {
                "config.rules.0.field_name": "phone",
                "config.rules.0.transform": "phone_e164",
                "config.rules.0.region": "XX",
            },
            "config.rules.0.region",
            "'XX' is not a known region",
        ),
        (
            "duplicate_check",
            {"config.field_name": "email", "config.lookback_days": "-5"},
            "config.lookback_days",
            "greater than or equal to 0",
        ),
    ],
)
def test_bad_configs_come_back_with_the_message_beside_the_input(
    site: Site, type_: str, form: dict[str, Any], name: str, says: str
) -> None:
    b, cid = setup(site)
    r = b.post(f"/campaigns/{cid}/processr/new?type={type_}", form)
    assert r.status_code == 422
    assert says.lower() in error_of(r.text, name).lower(), (name, r.text[-3000:])
    assert saved(site, cid) == []
