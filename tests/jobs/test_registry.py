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
}


def test_built_in_types_are_registered() -> None:
    assert BUILT_IN.issubset(t.type for t in registry.all_types())
    assert registry.get("required_fields").title == "Required Fields"


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
