"""The job type registry and the config schemas the UI builds forms from."""

import pytest

from leadgate.jobs.registry import builtin_registry
from leadgate.jobs.required_fields import RequiredFieldsJob
from leadgate.processr.registry import DuplicateJobType, JobRegistry, UnknownJobType, describe

registry = builtin_registry()

BUILT_IN = {
    "validation_list",
    "simple_conditional_validation",
    "conditional_validation",
    "required_fields",
    "test_data",
    "field_length",
    "repeated_characters",
    "non_standard_characters",
    "multiple_empty_fields",
    "email_format",
    "telephone_format",
}
# The keys of each everyday check that name campaign fields (so unknown fields are refused).
FIELD_KEYS = {
    "test_data": {"fields"},
    "field_length": {"field_name"},
    "repeated_characters": {"fields"},
    "non_standard_characters": {"fields"},
    "multiple_empty_fields": {"fields"},
    "email_format": {"field_name"},
    "telephone_format": {"field_name", "country_field"},
}
TITLES = {
    "test_data": "Test Data Check",
    "field_length": "Length check of given field",
    "repeated_characters": "Repeated Character Check",
    "non_standard_characters": "Non Standard Character Check",
    "multiple_empty_fields": "Multiple Empty Fields Check",
    "email_format": "Email Format Check",
    "telephone_format": "Telephone Format Check",
}


def test_built_in_types_are_registered() -> None:
    assert BUILT_IN.issubset(t.type for t in registry.all_types())
    assert registry.get("required_fields").title == "Required Fields"


@pytest.mark.parametrize("type_name", sorted(FIELD_KEYS))
def test_everyday_checks_declare_their_field_keys_and_titles(type_name: str) -> None:
    job_type = registry.get(type_name)
    assert job_type.field_keys == FIELD_KEYS[type_name]
    assert job_type.title == TITLES[type_name]
    assert job_type.config_model.model_json_schema()["title"] == TITLES[type_name]
    assert job_type.description
    assert job_type.fast_intake and not job_type.publishable and not job_type.reads_mirrors
    assert job_type.secret_keys == frozenset()


def test_unknown_type_raises_a_typed_key_error() -> None:
    with pytest.raises(UnknownJobType):
        registry.get("nope")
    with pytest.raises(KeyError):
        registry.get("nope")


def test_duplicates_are_refused() -> None:
    fresh = JobRegistry()
    fresh.register(RequiredFieldsJob())
    with pytest.raises(DuplicateJobType):
        fresh.register(RequiredFieldsJob())
    assert "required_fields" in fresh


@pytest.mark.parametrize("type_name", sorted(BUILT_IN))
def test_every_config_field_has_a_title_and_description(type_name: str) -> None:
    entry = describe(registry.get(type_name))
    assert entry["tab"] == "quality"
    schema = entry["config_schema"]
    models = [schema, *schema.get("$defs", {}).values()]
    for model in models:
        for name, prop in model["properties"].items():
            assert prop.get("title"), (type_name, name)
            assert prop.get("description"), (type_name, name)


def test_schema_lists_the_operator_choices() -> None:
    schema = registry.get("validation_list").config_model.model_json_schema()
    assert schema["properties"]["operator"]["enum"] == [
        "equal",
        "startswith",
        "endswith",
        "contains",
    ]
    assert set(schema["required"]) == {"list_id", "field_name", "rule"}
