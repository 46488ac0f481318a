"""Forms from JSON Schema, without a database: inputs, options, secrets, parsing back."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from leadgate.ui.forms import Problems
from leadgate.ui.schema_form import Choice, FormValues, build, coerce, names, parse


class Row(BaseModel):
    field_name: str = Field(title="Field")
    values: list[str] = Field(default_factory=list)
    negate: bool = False


class Config(BaseModel):
    API_Key: str = Field(title="API Key", json_schema_extra={"x-secret": True})
    Subdomain: str = Field(title="Subdomain", description="The client's subdomain.")
    Campaign: int = Field(
        title="Campaign",
        json_schema_extra={"x-options": "remote", "x-depends-on": ["API_Key", "Subdomain"]},
    )
    Field_name: str = Field(title="Field name")
    note: str | None = None
    limit: int = 5
    mode: str = Field(default="a", json_schema_extra={"enum": ["a", "b"]})
    rows: list[Row] = Field(default_factory=list, max_length=3)
    mapping: dict[str, str] = Field(default_factory=dict)


SCHEMA = Config.model_json_schema()
FIELDS = [Choice("company", "Company")]


def form(data: dict[str, Any]) -> FormValues:
    def getlist(key: str) -> list[Any]:
        value = data.get(key)
        return value if isinstance(value, list) else ([] if value is None else [value])

    return FormValues(data, getlist)


def test_inputs_follow_the_schema() -> None:
    calls: list[tuple[str, dict[str, Any]]] = []

    def load(key: str, config: dict[str, Any]) -> tuple[list[Choice], str | None]:
        calls.append((key, config))
        return [Choice("1", "one")], None

    inputs = {i.key: i for i in build(SCHEMA, {}, load_options=load, field_choices=FIELDS)}
    assert inputs["API_Key"].widget == "password" and inputs["API_Key"].required
    assert inputs["Subdomain"].help == "The client's subdomain."
    # A dependent dropdown waits for its fields; an implied one (Field_name) is filled at once.
    assert inputs["Campaign"].widget == "options"
    assert inputs["Campaign"].depends_on == ["config.API_Key", "config.Subdomain"]
    assert inputs["Campaign"].note == "Fill in API Key and Subdomain first."
    assert inputs["Field_name"].widget == "options" and [k for k, _ in calls] == ["Field_name"]
    assert inputs["note"].widget == "text" and not inputs["note"].required
    assert inputs["limit"].widget == "integer" and inputs["limit"].value == "5"
    assert inputs["mode"].widget == "select"
    assert inputs["rows"].widget == "group" and inputs["rows"].max_items == 3
    assert [i.name for i in inputs["rows"].blank] == [
        "config.rows.__index__.field_name",
        "config.rows.__index__.values",
        "config.rows.__index__.negate",
    ]
    assert inputs["rows"].items[0][0].widget == "select"  # nested field names: our fields
    assert inputs["mapping"].widget == "json"


def test_options_errors_and_stored_secrets() -> None:
    seen: list[str] = []

    def load(key: str, config: dict[str, Any]) -> tuple[list[Choice], str | None]:
        if key == "Campaign":
            seen.append(config["API_Key"])
            return [], "The client's instance refused this API key."
        return [], None

    stored = {"API_Key": "stored-secret", "Subdomain": "acme", "Campaign": 3}
    inputs = {
        i.key: i
        for i in build(SCHEMA, stored, load_options=load, field_choices=FIELDS, stored=stored)
    }
    assert inputs["Campaign"].error == "The client's instance refused this API key."
    assert inputs["Campaign"].value == "3"
    assert inputs["API_Key"].value == "" and inputs["API_Key"].secret_stored
    # A secret typed in this very post is given back (it is not the stored one).
    typed = build(
        SCHEMA, {**stored, "API_Key": "new"}, load_options=load, field_choices=FIELDS, stored=stored
    )
    assert next(i for i in typed if i.key == "API_Key").value == "new"
    # The options service got the real secret both times, never a masked one.
    assert seen == ["stored-secret", "new"]


def test_posted_forms_become_configs() -> None:
    config, problems = parse(
        SCHEMA,
        form(
            {
                "config.API_Key": "",
                "config.Subdomain": " acme ",
                "config.Campaign": "12",
                "config.Field_name": "company",
                "config.note": "",
                "config.limit": "ten",
                "config.mode": "b",
                "config.rows.4.field_name": "country",
                "config.rows.4.values": "US\r\n\r\nCA",
                "config.rows.4.negate": "true",
                "config.rows.7.field_name": "",
                "config.rows.9.field_name": "email",
                "config.mapping": '{"a": "b"}',
            }
        ),
    )
    assert not problems
    assert config == {  # a blank secret is left out: the Processr decides whether it is kept
        "Subdomain": "acme",
        "Campaign": 12,
        "Field_name": "company",
        "note": None,
        "limit": "ten",  # left as typed: the config model reports it beside the input
        "mode": "b",
        "rows": [
            {"field_name": "country", "values": ["US", "CA"], "negate": True},
            {"field_name": "email", "negate": False},
        ],
        "mapping": {"a": "b"},
    }
    _, problems = parse(SCHEMA, form({"config.mapping": "{not json"}))
    assert problems.fields == {"config.mapping": "This is not valid JSON."}


def test_messages_settle_on_the_nearest_input() -> None:
    inputs = build(SCHEMA, {}, load_options=lambda k, c: ([], None), field_choices=FIELDS)
    problems = Problems(fields={"config.rows.0.values.2": "bad", "config": "whole", "x.y": "odd"})
    problems.settle(names(inputs))
    assert problems.fields == {"config.rows.0.values": "bad"}
    assert problems.form == ["whole", "odd"]


def test_browser_configs_are_typed_per_schema() -> None:
    typed = coerce(SCHEMA, {"Campaign": "7", "limit": "", "API_Key": "k", "Field_name": "x"})
    assert typed == {"Campaign": 7, "API_Key": "k", "Field_name": "x"}
